"""What the record store costs a gate: bytes written to the card per scan, and commits per second.

    .venv/bin/python bench/store.py [--n 2000] [--dir DIR] [--prefill 0]

Part 1 (the figure issue 16 is about): a realistic replay through the pipeline's store path,
`Pipeline.scan` with the time floor kept on disk, as `gate run` does: distinct and returning
subjects, a fever every seventh scan that comes back for its re-measure (the memory set, then
cleared), a sync every 500 scans marking the queue delivered. Prints KiB written per scan, from
the process's `write_bytes` (/proc/self/io: what reached the block layer, the card's wear), for
the scans alone and with the sync's marks, and the store's files at the end.

Part 2: commits per second and milliseconds per commit (p50, p90, p99, max) of `Store.commit`
alone, each a full scan record with a re-measure memory change in the same transaction; then
the sync side (reading 500 pending records and marking them delivered).

Measured on the development VM (ext4), `--n 2000`, issue 16:
  before (schema 1, 4 KiB pages, 4 indexes, JSON text): 28.24 KiB per scan (29.15 with sync),
      WAL grown to 4060 KiB; Store.commit 27.6 KiB per commit
  after (schema 2, 1 KiB pages, one queue index, body deflated with a preset dictionary,
      WAL checkpointed every 500 pages): 9.18 KiB per scan (9.87 with sync), WAL 651 KiB;
      Store.commit 8.4 KiB per commit
Commits per second depend on the disk's fsync and on what else runs; on a quiet VM both
schemas reach 4000-5500 commits/s, under load both fall to a few hundred alike.

`--dir` puts the files on another disk (the Pi's SD card, say; write_bytes is 0 on tmpfs);
the default is a fresh temporary folder beside this checkout's default temp dir.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from gate.record import Record, iso_utc_ms, new_uuid7
from gate.store import Store

ROOT = Path(__file__).resolve().parents[1]


def write_bytes() -> int:
    """Bytes this process has caused to be written to storage so far (/proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes")


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


def files_of(path: Path) -> str:
    parts = []
    for suffix in ("", "-wal", "-shm"):
        f = Path(str(path) + suffix)
        parts.append(f"{f.name} {f.stat().st_size / 1024:.0f} KiB" if f.exists() else f"{f.name} -")
    return ", ".join(parts)


def replay_through_pipeline(folder: Path, n: int) -> None:
    """Part 1: KiB written per scan through Pipeline.scan (store, memory, queue, time floor)."""
    from gate.codes import issue as issuelib
    from gate.codes import keys as keylib
    from gate.config import load_config
    from gate.demo import write_demo_config
    from gate.hardware.thermometer import Reading, SimulatedThermometer
    from gate.pipeline import open_pipeline

    issuer = issuelib.Issuer("CN-JX", keylib.load_private_key(ROOT / "keys/demo/issuer-cn-jx.demo.key"))
    now = int(time.time())
    people = max(1, n // 3)  # each person comes about three times
    codes = [issuelib.make_code(issuer, p.to_bytes(16, "big"), (0, 0, 0, 1, 2)[p % 5], now - 600, now + 86400,
                                home="360102-012") for p in range(people)]
    events: list[tuple[str, float]] = []
    for i in range(n):
        p = (i * 7919) % people
        fever = i % 7 == 3
        events.append((codes[p], 38.2 if fever else 36.5))
        if fever and len(events) < n:  # the re-measure a minute later: memory read, then cleared
            events.append((codes[p], 36.6))
    events = events[:n]
    db = folder / "pipeline" / "scans.db"
    config_path = write_demo_config(folder / "gate.toml", ROOT, store=db)
    pipeline = open_pipeline(load_config(config_path), simulated_io=True, thermometer=SimulatedThermometer(),
                             persist_floor=True, body_options={"timer": False})
    store = pipeline.store
    assert store is not None, "the store did not open"
    before = write_bytes()
    synced = 0
    sync_bytes = 0
    start = time.perf_counter()
    for i, (qr, temp) in enumerate(events):
        pipeline.scan(qr, reading=Reading(temp), at=now + i * 3.0)
        if i % 50 == 49:
            pipeline.floor.tick()  # the kiosk's idle tick
        if i % 500 == 499:  # a sync round: the queue read and marked delivered
            b = write_bytes()
            while batch := store.pending_json(500):
                store.mark_delivered([r["id"] for r in batch])
                synced += len(batch)
            sync_bytes += write_bytes() - b
    wall = time.perf_counter() - start
    total = write_bytes() - before
    scans_only = total - sync_bytes
    print(f"pipeline replay: {n} scans through Pipeline.scan (time floor on disk, re-measures, "
          f"{synced} marked delivered by 'sync' every 500)")
    print(f"  KiB written per scan: {scans_only / n / 1024:.2f} (scans alone)   "
          f"{total / n / 1024:.2f} (with sync's marks)   goal <= 10")
    print(f"  {n / wall:.0f} scans/s;  files: {files_of(db)}")
    pipeline.close()


def commit_rate(folder: Path, n: int, prefill: int) -> None:
    """Part 2: Store.commit alone, and the sync side."""
    path = folder / "commits" / "scans.db"
    store = Store(path)
    t0 = time.time()
    if prefill:
        store.commit_many(scan(t0 - 86400 + i * 0.01, i) for i in range(prefill))
    times: list[float] = []
    before = write_bytes()
    start = time.perf_counter()
    for i in range(n):
        record = scan(time.time(), i)
        key = record.subject_key
        tick = time.perf_counter()
        if i % 10 == 0:
            store.commit(record, remember_abnormal=(key, time.time()))
        else:
            store.commit(record, forget_abnormal=key)
        times.append((time.perf_counter() - tick) * 1000)
    wall = time.perf_counter() - start
    written = write_bytes() - before
    times.sort()
    print(f"Store.commit: {path} (journal WAL, synchronous=FULL), {prefill} records before")
    print(f"  {n} commits in {wall:.2f} s = {n / wall:.0f} commits/s (record building included); "
          f"{written / n / 1024:.2f} KiB written per commit")
    print(f"  per commit ms: p50 {statistics.median(times):.3f}  p90 {percentile(times, 90):.3f}  "
          f"p99 {percentile(times, 99):.3f}  max {times[-1]:.3f}")
    batch_times: list[float] = []
    while store.queue_depth():
        tick = time.perf_counter()
        batch = store.pending_json(500)
        store.mark_delivered([r["id"] for r in batch])
        batch_times.append((time.perf_counter() - tick) * 1000)
    print(f"  sync side: pending_json(500) + mark_delivered(500): median "
          f"{statistics.median(batch_times):.2f} ms over {len(batch_times)} batches")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="scans to replay and commits to time")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database files")
    parser.add_argument("--prefill", type=int, default=0, help="records already in the store (part 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        replay_through_pipeline(folder, args.n)
        commit_rate(folder, args.n, args.prefill)
    os.sync()


if __name__ == "__main__":
    main()
