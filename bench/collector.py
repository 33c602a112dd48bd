"""The collector's rate alone: 100,000 records in signed, gzip batches of 500 on loopback.

    .venv/bin/python bench/collector.py [--records N] [--batch N] [--db sqlite|postgresql]
                                        [--clients N]

Prints records per second stored (batches are made and compressed before the clock starts,
so the figure is the collector's: HTTP, signature check, gunzip, validation, insert).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector.app import create_app
from gate.collector.server import BackgroundServer
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests/ kit
from tests.postgreskit import TemporaryPostgres  # noqa: E402

DEVICE_ID = "gate-bench-0001"


def record(i: int) -> dict:
    return {
        "id": str(uuid.uuid4()), "device_id": DEVICE_ID, "venue_id": "360102-012-north-gate",
        "venue_type": "residential",
        "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1795000000 + i)),
        "clock_trusted": True,
        "code": {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": f"{i:032x}",
                 "cti": f"{i:016x}", "status": "green", "itinerary_risk": False},
        "temperature_c": 36.6, "temperature_state": "normal", "decision": "allow",
        "decision_reasons": ["green", "temperature_normal"], "rules_version": "residential@3",
        "trust_list_version": 7, "override": None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=1, help="concurrent uploaders")
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        pg = None
        if args.db == "postgresql":
            pg = TemporaryPostgres().start()
            db_url = pg.create_database("bench")
        else:
            db_url = f"sqlite:///{Path(tmp) / 'collector.db'}"
        app = create_app(db_url, Path(tmp))
        app.db.add_device(DEVICE_ID, devicesig.public_key_b64(key.public_key()))
        server = BackgroundServer(app, threads=4).start()

        bodies = []
        for start in range(0, args.records, args.batch):
            batch = [record(i) for i in range(start, min(start + args.batch, args.records))]
            bodies.append(gzip.compress(json.dumps(
                {"batch_id": str(uuid.uuid4()), "records": batch}).encode(), 6))
        wire = sum(len(b) for b in bodies)

        def send(chunk: list[bytes]) -> int:
            stored = 0
            with requests.Session() as session:
                for body in chunk:
                    headers = devicesig.sign_headers(key, DEVICE_ID, "POST", "/v1/scans", body,
                                                     int(time.time()))
                    headers.update({"Content-Encoding": "gzip",
                                    "Content-Type": "application/json"})
                    answer = session.post(server.url + "/v1/scans", data=body, headers=headers,
                                          timeout=60)
                    answer.raise_for_status()
                    stored += len(answer.json()["accepted"])
            return stored

        chunks = [bodies[i::args.clients] for i in range(args.clients)]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            stored = sum(pool.map(send, chunks))
        elapsed = time.perf_counter() - started
        server.stop()
        count = app.db.count_records()
        app.close()
        if pg is not None:
            pg.stop()

    print(f"collector ({args.db}, {args.clients} client(s)): {stored} records in "
          f"{len(bodies)} batches of {args.batch}, {wire / 1e6:.1f} MB gzip on the wire, "
          f"{elapsed:.2f} s -> {stored / elapsed:,.0f} records/s")
    if count != args.records or stored != args.records:
        print(f"MISMATCH: {count} stored, {stored} accepted, {args.records} sent")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
