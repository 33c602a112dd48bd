"""`gate run --headless` on footage: frames per second, frame-to-decision time, peak memory, and
how soon the kiosk is ready.

Run by hand: `.venv/bin/python bench/kiosk.py`. Goals (issue 7): at least 90 frames/s on 640x480
footage, p95 frame-to-decision under 50 ms (the thermometer's measuring time excluded), peak
memory under 150 MB, ready (systemd's READY=1) within 3 s of start.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gate.demo import make_footage, write_demo_config

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        video = make_footage(Path(tmp) / "footage", ROOT / "keys" / "demo")
        config = write_demo_config(Path(tmp) / "gate.toml", ROOT, store=Path(tmp) / "scans.db", footage=video)
        address = f"{tmp}/notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(address)
        notify.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=address)
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "gate.cli", "run", "--config", str(config), "--headless"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        ready_at = None
        while ready_at is None:
            message = notify.recv(4096).decode()
            if "READY=1" in message:
                ready_at = time.perf_counter()
        _, err = child.communicate(timeout=300)
        ended = time.perf_counter()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(err.rsplit("stopped: ", 1)[1].splitlines()[0])
        frames = summary["frames"]
        f2d = summary.get("frame_to_decision_ms", {})
        print(f"footage: {video.name}, 640x480, {frames} frames, {summary['scans']} scans")
        print(f"ready (READY=1) after    {ready_at - start:6.2f} s     (goal < 3 s)")
        print(f"frames processed         {frames / (ended - ready_at):6.0f} /s    (goal >= 90)")
        print(f"frame to decision        median {f2d.get('median')} ms, p95 {f2d.get('p95')} ms   (goal p95 < 50 ms)")
        print(f"peak memory (max RSS)    {peak_mb:6.0f} MB    (goal < 150 MB)")


if __name__ == "__main__":
    main()
