"""The setup page's costs: one live-view frame (find codes, outline, JPEG) and one sign-in's hash.

    .venv/bin/python bench/setup.py [--frames N]

Prints milliseconds per outlined 640x480 frame with a code in it (what bounds the live view's
rate on the gate, beside the kiosk's own decoding) and per Argon2id verification with
argon2-cffi's default parameters (what each sign-in attempt costs the gate).
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2

from gate.setup.auth import hash_password, password_matches
from gate.setup.liveview import find_codes, outline
from gate.vision.synthetic import code_picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    image = code_picture("JKM1:" + "A" * 200, background_level=230)
    times = []
    for _ in range(args.frames):
        start = time.perf_counter()
        codes = find_codes(image)
        ok, _ = cv2.imencode(".jpg", outline(image, codes), [cv2.IMWRITE_JPEG_QUALITY, 75])
        times.append((time.perf_counter() - start) * 1000)
        assert ok and codes and codes[0].valid
    print(f"live view: {statistics.median(times):.2f} ms per outlined 640x480 frame (median of {args.frames}), "
          f"p95 {sorted(times)[int(len(times) * 0.95)]:.2f} ms")
    stored = hash_password("a long setup passphrase")
    verify = []
    for _ in range(5):
        start = time.perf_counter()
        assert password_matches(stored, "a long setup passphrase")
        verify.append((time.perf_counter() - start) * 1000)
    print(f"sign-in: {statistics.median(verify):.0f} ms per Argon2id verification (argon2-cffi defaults, median of 5)")


if __name__ == "__main__":
    main()
