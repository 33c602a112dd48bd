#!/usr/bin/env python3
"""Make the demo footage (var/demo/footage.mp4 and its script footage.json) from the demo keys.

`gate demo` runs this itself on first use; run it by hand to make the footage anew (new codes,
signed now) or somewhere else: `.venv/bin/python scripts/make_demo_footage.py [OUT_DIR]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gate.demo import PEOPLE, make_footage

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "var" / "demo"
    video = make_footage(out, ROOT / "keys" / "demo")
    print(f"wrote {video} and {video.with_suffix('.json').name}: {len(PEOPLE)} people")
    for person in PEOPLE:
        print(f"  {person.label:<30} expect {person.expect}")


if __name__ == "__main__":
    main()
