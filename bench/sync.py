"""A busy gate's month (100,000 records) uploaded to a collector on loopback by `gate sync`.

    .venv/bin/python bench/sync.py [--records N] [--batch N] [--gzip-level L]
                                   [--db sqlite|postgresql] [--profile]
    .venv/bin/python bench/sync.py --flaky [--records 10000] [--fail 0.2] [--drop 0.1]

The collector runs as its own process (`gate collector serve`, waitress) as it would on a server;
the gate's side is `Syncer.round()` in this process, over a record store holding the backlog.
Prints:

- end to end: records per second from the first request of the round to the empty queue
  (lists, reading the queue, JSON, gzip, signing, HTTP, the collector, marking delivered);
- the collector alone: the same number of new records in batches made and compressed before the
  clock starts, sent one after another by a bare signing client.

Goal: 100,000 records end to end in under 30 s. `--profile` prints where the gate's time goes.

`--flaky`: the same backlog drained by the forever mode (`Syncer.run_forever`, pauses and backoff
on an injected clock, so they cost no wall time) twice, each time through the tests' fault-
injecting proxy to a fresh collector: once on a clean link, once on a link that fails `--fail`
of the requests (503) and drops `--drop` of the answers after the collector stored the batch.
Prints the wall time of each, their ratio, the rounds, and how often each record was sent on
average. Goals: under 3x the clean-link time, under 3 sends per record.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import json
import logging
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate import devicesig  # noqa: E402
from gate.codes import keys as keylib  # noqa: E402
from gate.codes.issue import make_status_list, make_trust_list, sign_document  # noqa: E402
from gate.codes.trust import TrustStore  # noqa: E402
from gate.collector import django_db  # noqa: E402

django_db.setup()  # before anything imports the collector's models

from gate.collector import devices as collector_devices  # noqa: E402
from gate.state.paths import state_paths  # noqa: E402
from gate.record import Record, iso_utc_ms, new_uuid7  # noqa: E402
from gate.store import Store  # noqa: E402
from gate.sync import Syncer, SyncSettings  # noqa: E402
from tests.postgreskit import TemporaryPostgres  # noqa: E402
from tests.synckit import FakeTime, FaultyProxy  # noqa: E402

DEVICE_ID = "gate-bench-0001"
START = 1_795_000_000.0


def make_records(n: int) -> list[Record]:
    """n scans 25 s apart (a month of a busy gate), each a different subject; 1 in 500 an alert."""
    records = []
    for i in range(n):
        at = START + i * 25.0
        hold = i % 500 == 499
        records.append(Record(
            id=new_uuid7(at), device_id=DEVICE_ID, venue_id="360102-012-north-gate",
            venue_type="residential", scanned_at=iso_utc_ms(at), clock_trusted=True,
            code={"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": f"{i:032x}",
                  "cti": f"{i:016x}", "status": "green", "itinerary_risk": False},
            temperature_c=36.6 if not hold else 37.9,
            temperature_state="normal" if not hold else "fever",
            decision="hold" if hold else "allow",
            decision_reasons=["green", "temperature_fever" if hold else "temperature_normal"],
            rules_version="residential@3", trust_list_version=7,
        ))
    return records


def fill_store(path: Path, records: list[Record]) -> None:
    """The backlog, in one transaction (100,000 fsyncs would take minutes)."""
    with Store(path) as store:
        store.commit_many(records)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_collector(db_url: str, lists: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gate.cli", "collector", "serve", "--db", db_url, "--port",
         str(port), "--lists", str(lists), "--threads", "4"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the collector did not start: {log.read_text()[-2000:]}")


def collector_alone(url: str, key: Ed25519PrivateKey, n: int, batch: int, level: int) -> float:
    """Seconds for the collector to take n new records, batches prepared beforehand."""
    records = [r.to_json() for r in make_records(n)]
    bodies = []
    for i in range(0, n, batch):
        doc = {"batch_id": str(uuid.uuid4()), "records": records[i:i + batch]}
        raw = json.dumps(doc, separators=(",", ":")).encode()
        bodies.append(gzip.compress(raw, compresslevel=level, mtime=0))
    session = requests.Session()
    started = time.perf_counter()
    for body in bodies:
        headers = devicesig.sign_headers(key, DEVICE_ID, "POST", "/v1/scans", body, int(time.time()))
        headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        resp = session.post(url + "/v1/scans", data=body, headers=headers, timeout=30)
        resp.raise_for_status()
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def drain_forever(store_path: Path, trust_dir: Path, url: str, key: Ed25519PrivateKey,
                  batch: int) -> tuple[float, int]:
    """Wall seconds for the forever loop to empty the queue, and the rounds it took."""
    clock = FakeTime(0.0)
    rounds: list[Any] = []
    store = Store(store_path)
    trust = TrustStore(trust_dir, state_paths(store_path)[0])
    syncer = Syncer(store, trust, SyncSettings(url=url, device_id=DEVICE_ID, device_key=key, batch_size=batch,
                                               timeout_s=30), monotonic=clock, sleep=clock.sleep)
    started = time.perf_counter()
    syncer.run_forever(lambda: bool(rounds) and rounds[-1].ok and rounds[-1].remaining == 0,
                       on_round=rounds.append)
    elapsed = time.perf_counter() - started
    syncer.close()
    trust.close()
    store.close()
    return elapsed, len(rounds)


def flaky(args: argparse.Namespace) -> int:
    """The flaky-link run (module doc)."""
    logging.getLogger("gate.sync").setLevel(logging.ERROR)  # each fault is a warning otherwise
    device_key = Ed25519PrivateKey.generate()
    anchor = keylib.generate("EdDSA")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        lists = tmp / "lists"
        lists.mkdir()
        for name, data in (("trustlist.json", make_trust_list(7, 1794990000, 1797000000, [])),
                           ("statuslist.json", make_status_list(1040, 1794990000, []))):
            (lists / name).write_bytes(data)
            (lists / (name + ".sig")).write_text(sign_document(anchor, data))
        template = tmp / "template.db"
        fill_store(template, make_records(args.records))
        figures = {}
        for name, fail, drop in (("clean", 0.0, 0.0), ("flaky", args.fail, args.drop)):
            db_url = f"sqlite:///{tmp / f'collector-{name}.db'}"
            db = open_database(db_url)
            db.add_device(DEVICE_ID, devicesig.public_key_b64(device_key.public_key()))
            db.close()
            port = free_port()
            collector = start_collector(db_url, lists, port, tmp / f"collector-{name}.log")
            proxy = FaultyProxy(("127.0.0.1", port), fail_rate=fail, drop_rate=drop, seed=args.seed)
            gate_dir = tmp / f"gate-{name}"
            trust_dir = gate_dir / "trust"
            (trust_dir / "anchors").mkdir(parents=True)
            (trust_dir / "anchors" / "anchor.pem").write_bytes(keylib.public_pem(anchor.public_key()))
            store_path = gate_dir / "data" / "scans.db"
            store_path.parent.mkdir(parents=True)
            store_path.write_bytes(template.read_bytes())
            try:
                elapsed, rounds = drain_forever(store_path, trust_dir, proxy.url, device_key,
                                                args.batch)
                check = open_database(db_url)
                stored = check.count_records()
                check.close()
            finally:
                proxy.close()
                collector.terminate()
                collector.wait(10)
            sends = sum(proxy.sends.values()) / args.records
            figures[name] = elapsed
            failed = sum(1 for _, _, action in proxy.seen if action == "flaky")
            cut = sum(1 for _, _, action in proxy.seen if action == "cut")
            print(f"{name:5} link: {args.records} records drained in {elapsed:.1f} s, {rounds} rounds, "
                  f"{len(proxy.seen)} requests ({failed} failed 503, {cut} answers dropped), "
                  f"{sends:.2f} sends per record, {stored} stored")
            if stored != args.records:
                print(f"MISSED: the collector holds {stored} records, not {args.records}")
                return 1
        ratio = figures["flaky"] / figures["clean"]
        print(f"flaky / clean wall time: {ratio:.2f}x; goals (under 3x, under 3 sends per record): "
              f"{'met' if ratio < 3 and sends < 3 else 'MISSED'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flaky", action="store_true", help="the flaky-link run (module doc)")
    parser.add_argument("--fail", type=float, default=0.2, help="--flaky: share of requests failed")
    parser.add_argument("--drop", type=float, default=0.1, help="--flaky: share of answers dropped")
    parser.add_argument("--seed", type=int, default=11, help="--flaky: which faults, reproducibly")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--gzip-level", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", action="store_true", help="profile the gate's side")
    args = parser.parse_args()
    if args.flaky:
        args.records = args.records or 10_000
        return flaky(args)
    args.records = args.records or 100_000

    device_key = Ed25519PrivateKey.generate()
    anchor = keylib.generate("EdDSA")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pg = None
        if args.db == "postgresql":
            pg = TemporaryPostgres().start()
            db_url = pg.create_database("bench_sync")
        else:
            db_url = f"sqlite:///{tmp / 'collector.db'}"
        with django_db.activate(django_db.database_alias(db_url)):
            collector_devices.add_device(DEVICE_ID,
                                         devicesig.public_key_b64(device_key.public_key()))

        lists = tmp / "lists"
        lists.mkdir()
        for name, data in (("trustlist.json", make_trust_list(7, 1794990000, 1797000000, [])),
                           ("statuslist.json", make_status_list(1040, 1794990000, []))):
            (lists / name).write_bytes(data)
            (lists / (name + ".sig")).write_text(sign_document(anchor, data))
        trust_dir = tmp / "gate" / "trust"
        (trust_dir / "anchors").mkdir(parents=True)
        (trust_dir / "anchors" / "anchor.pem").write_bytes(keylib.public_pem(anchor.public_key()))

        port = free_port()
        collector = start_collector(db_url, lists, port, tmp / "collector.log")
        url = f"http://127.0.0.1:{port}"
        try:
            store_path = tmp / "gate" / "data" / "scans.db"
            t0 = time.perf_counter()
            fill_store(store_path, make_records(args.records))
            print(f"backlog: {args.records} records queued in {time.perf_counter() - t0:.1f} s "
                  f"(store {store_path.stat().st_size / 1e6:.0f} MB)")

            store = Store(store_path)
            trust = TrustStore(trust_dir, state_paths(store_path)[0])
            syncer = Syncer(store, trust, SyncSettings(url=url, device_id=DEVICE_ID, device_key=device_key,
                                                       batch_size=args.batch, timeout_s=30,
                                                       gzip_level=args.gzip_level))
            profiler = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            result = syncer.round()
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            if not result.ok or result.remaining:
                print(f"round failed: {result.summary()}")
                return 1
            print(f"end to end ({args.db}, batch {args.batch}, gzip {args.gzip_level}): "
                  f"{args.records} records in {elapsed:.1f} s = {args.records / elapsed:,.0f} records/s "
                  f"({result.uploaded} uploaded, {result.duplicates} already there, "
                  f"{result.alerts_sent} alerts first)")
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
                print(out.getvalue())
            syncer.close()
            trust.close()
            store.close()

            alone = collector_alone(url, device_key, args.records, args.batch, args.gzip_level)
            print(f"collector alone: {args.records} records in {alone:.1f} s = "
                  f"{args.records / alone:,.0f} records/s")
            goal = "met" if elapsed < 30 else "MISSED"
            print(f"goal (100,000 in under 30 s end to end): {goal} "
                  f"({elapsed * 100_000 / args.records:.1f} s per 100,000)")
        finally:
            collector.terminate()
            collector.wait(10)
            if pg is not None:
                pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
