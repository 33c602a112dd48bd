"""How fast the record store commits a scan durably (WAL, synchronous=FULL) on this machine.

    .venv/bin/python bench/store.py [--n 3000] [--dir DIR] [--prefill 0]

Prints commits per second and milliseconds per commit (p50, p90, p99, max), each commit a
full scan record with a re-measure memory change in the same transaction, as the kiosk
does. Then the cost of the sync side: reading a batch of 500 pending records and marking
them delivered. `--dir` puts the file on another disk (the Pi's SD card, say); the
default is a fresh temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gate.record import Record, iso_utc_ms, new_uuid7
from gate.store import Store


def scan(t: float, i: int) -> Record:
    return Record(
        id=new_uuid7(t), device_id="gate-nc-0001", venue_id="360102-012-north-gate",
        venue_type="residential", scanned_at=iso_utc_ms(t), clock_trusted=True,
        code={"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": f"{i:032x}",
              "cti": f"{i:016x}", "status": "green", "itinerary_risk": False},
        temperature_c=36.6, temperature_state="normal", decision="allow",
        decision_reasons=["code_valid", "green", "temperature_normal"],
        rules_version="residential@1", trust_list_version=7,
        temperature_raw={"object_c": 36.1, "ambient_c": 22.4},
    )


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="commits to time")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database file")
    parser.add_argument("--prefill", type=int, default=0, help="records already in the store")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "scans.db"
        store = Store(path)
        t0 = time.time()
        for i in range(args.prefill):
            store.commit(scan(t0 - 86400 + i * 0.01, i))
        times: list[float] = []
        start = time.perf_counter()
        for i in range(args.n):
            record = scan(time.time(), i)
            key = record.subject_key
            before = time.perf_counter()
            if i % 10 == 0:
                store.commit(record, remember_abnormal=(key, time.time()))
            else:
                store.commit(record, forget_abnormal=key)
            times.append((time.perf_counter() - before) * 1000)
        wall = time.perf_counter() - start
        times.sort()
        print(f"store: {path} (journal WAL, synchronous=FULL), {args.prefill} records before")
        print(f"commits: {args.n} in {wall:.2f} s = {args.n / wall:.0f} commits/s "
              f"(record building included)")
        print(f"per commit ms: p50 {statistics.median(times):.3f}  p90 {percentile(times, 90):.3f}  "
              f"p99 {percentile(times, 99):.3f}  max {times[-1]:.3f}")

        batch_times: list[float] = []
        while store.queue_depth():
            before = time.perf_counter()
            batch = store.pending_json(500)
            store.mark_delivered([r["id"] for r in batch])
            batch_times.append((time.perf_counter() - before) * 1000)
        print(f"sync side: pending_json(500) + mark_delivered(500): median "
              f"{statistics.median(batch_times):.2f} ms over {len(batch_times)} batches")
        store.close()


if __name__ == "__main__":
    main()
