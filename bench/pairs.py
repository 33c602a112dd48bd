"""The gate's own benchmarks (kiosk, verify, store) against an older commit's, in alternating pairs.

    .venv/bin/python bench/pairs.py --against REV [--this REV] [--pairs N] [--bench kiosk verify store]

As bench/collector_pairs.py does for the collector: unpacks ``git archive REV`` into a temporary
folder and runs that tree's ``bench/<name>.py`` and this tree's one after the other, `--pairs`
times, each with this virtualenv's Python and its own tree first on ``PYTHONPATH``. Prints each
pair's figures and their ratio (this tree / REV, so above 1 is faster for a rate and slower for a
time), then the median ratio of each figure. `--this REV` measures that commit instead of the
working tree (which may change while the pairs run). A shared machine's load comes and goes: compare
pairs, not single runs.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# bench -> (extra arguments, {figure: (pattern, True when higher is better)})
FIGURES: dict[str, tuple[list[str], dict[str, tuple[re.Pattern[str], bool]]]] = {
    "kiosk": ([], {
        "frames/s": (re.compile(r"frames processed\s+([\d.]+) /s"), True),
        "frame-to-decision p95 ms": (re.compile(r"frame to decision\s+median [\d.]+ ms, p95 ([\d.]+) ms"), False),
    }),
    "verify": ([], {
        "codes/s": (re.compile(r"gate verify --jsonl path:\s+([\d.]+) codes/s"), True),
    }),
    "store": (["--n", "1000"], {
        "pipeline scans/s": (re.compile(r"\n\s+([\d.]+) scans/s"), True),
        "commits/s": (re.compile(r"= ([\d.]+) commits/s"), True),
    }),
}


def figures(tree: Path, bench: str) -> dict[str, float]:
    """The figures `tree`'s bench/<bench>.py prints."""
    extra, wanted = FIGURES[bench]
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, f"bench/{bench}.py", *extra], cwd=tree, env=env, capture_output=True,
                         text=True, timeout=900)
    found = {name: pattern.search(out.stdout) for name, (pattern, _) in wanted.items()}
    if out.returncode != 0 or not all(found.values()):
        raise SystemExit(f"bench/{bench}.py in {tree} failed: {(out.stderr or out.stdout)[-600:]}")
    return {name: float(match.group(1)) for name, match in found.items() if match}


def unpack(rev: str, folder: Path) -> Path:
    """`git archive rev` unpacked into `folder`."""
    archive = subprocess.run(["git", "archive", rev], cwd=HERE, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the older commit")
    parser.add_argument("--this", default=None, help="the newer commit (default: the working tree)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--bench", nargs="+", choices=sorted(FIGURES), default=sorted(FIGURES))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        old_tree = unpack(args.against, Path(tmp) / "against")
        new_tree = unpack(args.this, Path(tmp) / "this") if args.this else HERE
        for bench in args.bench:
            ratios: dict[str, list[float]] = {name: [] for name in FIGURES[bench][1]}
            for n in range(1, args.pairs + 1):
                old = figures(old_tree, bench)
                new = figures(new_tree, bench)
                line = []
                for name in ratios:
                    ratios[name].append(new[name] / old[name])
                    line.append(f"{name} {old[name]:g} -> {new[name]:g} ({new[name] / old[name]:.3f})")
                print(f"{bench} pair {n}: " + "; ".join(line), flush=True)
            for name, values in ratios.items():
                better = "higher is better" if FIGURES[bench][1][name][1] else "lower is better"
                print(f"{bench} median ratio {name}: {statistics.median(values):.3f} ({better})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
