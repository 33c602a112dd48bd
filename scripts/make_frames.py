"""Write synthetic gate frames (gate.vision.synthetic) as PNG files or as one video.

    .venv/bin/python scripts/make_frames.py --out frames/ [--per-category 10] [--seed 0]
    .venv/bin/python scripts/make_frames.py --video demo.mp4 [--categories rotation,glare] [--fps 10]

PNG mode also writes truth.jsonl: {"file", "category", "seed", "text"} per frame, so
`gate scan-image --json frames/*.png` can be checked against it. Video mode writes the frames in
order (mp4v in .mp4, MJPG in .avi), each shown for --hold frames, so a code stays in view the
way it does at a real gate. Same arguments, same pixels: the generator is seeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

from gate.vision.synthetic import CATEGORIES, HEIGHT, WIDTH, frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="folder for PNG frames and truth.jsonl")
    where.add_argument("--video", type=Path, help="a .mp4 or .avi file to write")
    parser.add_argument("--categories", default=",".join(CATEGORIES),
                        help=f"comma-separated, from: empty,{','.join(CATEGORIES)}")
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--hold", type=int, default=5, help="video: how many frames each image is shown")
    args = parser.parse_args(argv)

    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    unknown = [c for c in categories if c != "empty" and c not in CATEGORIES]
    if unknown:
        print(f"Unknown category {unknown[0]!r}; choose from empty,{','.join(CATEGORIES)}.", file=sys.stderr)
        return 2
    made = frames(categories, per_category=args.per_category, seed=args.seed)

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "truth.jsonl", "w", encoding="utf-8") as truth:
            for f in made:
                name = f"{f.category}_{f.seed:04d}.png"
                cv2.imwrite(str(args.out / name), f.image)
                truth.write(json.dumps({"file": name, "category": f.category, "seed": f.seed, "text": f.text}) + "\n")
        print(f"wrote {len(made)} frames to {args.out}")
        return 0

    fourcc = "MJPG" if args.video.suffix.lower() == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(args.video), cv2.VideoWriter_fourcc(*fourcc), args.fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        print(f"Cannot write video {args.video}; use a .mp4 or .avi name in a writable folder.", file=sys.stderr)
        return 2
    try:
        for f in made:
            for _ in range(max(1, args.hold)):
                writer.write(f.image)
    finally:
        writer.release()
    print(f"wrote {len(made) * max(1, args.hold)} frames to {args.video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
