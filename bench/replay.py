"""The decision path's cost per scan (verify + rules + durable commit), and scans per second
through `gate replay`.

Run by hand: `.venv/bin/python bench/replay.py [N]`. Goal (issue 4): p99 under 10 ms per scan
with synchronous=FULL, so the decision path is never what a person waits for.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.config import load_config
from gate.demo import write_demo_config
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import open_pipeline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    issuer = issuelib.Issuer("CN-JX", keylib.load_private_key(ROOT / "keys/demo/issuer-cn-jx.demo.key"))
    now = int(time.time())
    codes = [issuelib.make_code(issuer, i.to_bytes(16, "big"), (0, 0, 0, 1, 2)[i % 5], now - 600, now + 3000,
                                home="360102-012") for i in range(n)]
    temps = [36.5 if i % 7 else 37.9 for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_demo_config(Path(tmp) / "gate.toml", ROOT, store=Path(tmp) / "scans.db")
        config = load_config(config_path)
        pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(), persist_floor=False,
                                 body_options={"timer": False})
        times = []
        for i, (qr, temp) in enumerate(zip(codes, temps)):
            t0 = time.perf_counter()
            pipeline.scan(qr, reading=Reading(temp), at=now + i)
            times.append((time.perf_counter() - t0) * 1000)
        pipeline.close()
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"decision path, {n} distinct codes, synchronous=FULL (verify + rules + durable commit + pins):")
        print(f"  median {statistics.median(times):.2f} ms   p99 {p99:.2f} ms   max {times[-1]:.2f} ms"
              f"   (goal: p99 < 10 ms)")

        events = Path(tmp) / "events.jsonl"
        events.write_text("".join(json.dumps({"t": now + i, "qr": qr, "temp_c": temp}) + "\n"
                                  for i, (qr, temp) in enumerate(zip(codes, temps))))
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "gate.cli", "replay", "--config", str(config_path), "--events",
                               str(events), "--db", f"{tmp}/replay.db"], capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t0
        lines = done.stdout.count("\n")
        print(f"gate replay: {lines} events in {elapsed:.2f} s = {lines / elapsed:.0f} scans/s (process start included)")


if __name__ == "__main__":
    main()
