#!/usr/bin/env python3
"""Screenshots of the gate's screen for the README: each decision, idle and a fault.

Serves the real screen (gate.display.DisplayServer) on a free loopback port, pushes each state
as the kiosk would, and photographs what headless Chromium (driven by Playwright, tests/browser.py)
shows at a Pi panel's size.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--size 800x480]

Needs Debian's `chromium`. Messages come from the venue rules' own table (gate.policy), the
idle view's camera picture from the synthetic gate frames (gate.vision.synthetic).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/browser.py: the one way this project starts Chromium

from gate.display import DisplayServer  # noqa: E402
from gate.policy import message_for  # noqa: E402
from gate.vision.synthetic import frame  # noqa: E402
from tests.browser import chromium, find_chromium, new_page  # noqa: E402

AT = "2022-04-01T08:30:00Z"
MAX_PNG_BYTES = 200 * 1024  # each picture is committed and shown in the README


def _decision(decision: str, reasons: list[str], temperature_c: float | None,
              name: str | None = "张*明", venue_type: str = "residential") -> dict[str, Any]:
    zh, en = message_for(decision, tuple(reasons), venue_type)
    return {"kind": "decision", "decision": decision, "message_zh": zh, "message_en": en,
            "temperature_c": temperature_c, "name": name, "reasons": reasons, "at": AT}


# name -> the state the kiosk would publish
STATES: dict[str, dict[str, Any]] = {
    "allow": _decision("allow", ["code_valid", "green", "temperature_normal"], 36.5),
    "deny": _decision("deny", ["code_invalid", "expired"], 36.4, name=None),
    "recheck": _decision("recheck", ["code_valid", "green", "temperature_abnormal"], 37.8),
    "refer": _decision("refer", ["code_valid", "green", "temperature_abnormal", "fever_confirmed"],
                       37.9, venue_type="metro"),
    "hold": _decision("hold", ["code_valid", "red"], 36.6, name="李*"),
    "manual": _decision("manual", ["code_valid", "green", "temperature_unavailable"], None),
    "idle": {"kind": "idle", "faults": []},
    "fault": {"kind": "idle", "faults": ["camera_lost", "thermometer_failing"]},  # codes of gate.faults
    "venue-card": {"kind": "venue_card", "stage": "confirm", "faults": [], "en": "Press the attendant button to set this gate's venue",
                   "zh": "请按值守按钮确认更改场所设置", "seconds_left": 17.0,
                   "venue": {"id": "360105-001-east-gate", "type": "residential", "community_codes": ["360105-001"]}},
}


def camera_jpeg(width: int = 320, height: int = 240) -> bytes:
    """A gate camera's picture of a phone held up with a code, as the kiosk would send it."""
    image = frame("rotation", 7).image
    if image.shape[1] != width:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise RuntimeError("could not encode the camera picture as JPEG")
    return data.tobytes()


def fit(png: bytes, limit: int = MAX_PNG_BYTES) -> bytes:
    """`png` as it is when small enough, else with fewer bits per colour (the camera picture's
    noise is what makes the idle view large; the flat panels change by at most a few levels)."""
    if len(png) <= limit:
        return png
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    for bits in (6, 5, 4):
        drop = 8 - bits
        fewer = ((image >> drop) << drop) | (1 << (drop - 1))
        ok, data = cv2.imencode(".png", fewer, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if ok and len(data) <= limit:
            return data.tobytes()
    raise RuntimeError(f"a screenshot stays over {limit // 1024} KB")


def take(out: Path, width: int, height: int) -> list[Path]:
    """Photograph every state in STATES into `out`/<name>.png; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with DisplayServer(port=0) as screen, chromium() as browser:
        page = new_page(browser, width, height)
        page.goto(screen.url)
        page.wait_for_function("document.body.dataset.kind === 'idle'")
        for name, state in STATES.items():
            screen.publish(state)
            if name == "idle":
                screen.publish_frame(camera_jpeg())
                page.wait_for_function("!document.body.classList.contains('no-picture')")
            elif name == "fault":
                # the camera is gone: no new frames, so the live view gives way
                page.wait_for_function("document.body.classList.contains('no-picture')")
            page.wait_for_function(f"document.body.dataset.seq === '{screen.app.snapshot()['seq']}'")
            # the blinking panels: photograph the bright phase
            page.evaluate("document.getAnimations().forEach(a => a.pause()), true")
            page.evaluate("document.getAnimations().forEach(a => a.currentTime = 0), true")
            path = out / f"{name}.png"
            path.write_bytes(fit(page.screenshot()))
            page.evaluate("document.getAnimations().forEach(a => a.play()), true")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", default="800x480", help="WIDTHxHEIGHT in CSS pixels")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("screenshots: no chromium found; install Debian's chromium package.", file=sys.stderr)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"screenshots: --size must be WIDTHxHEIGHT, like 800x480, not {args.size}.",
              file=sys.stderr)
        return 2
    for path in take(args.out, width, height):
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
