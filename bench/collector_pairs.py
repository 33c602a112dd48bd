"""The collector's rate against an older commit's, in alternating pairs on one (noisy) machine.

    .venv/bin/python bench/collector_pairs.py --against REV [--pairs N] [--db sqlite|postgresql]
                                              [--records N]

Unpacks ``git archive REV`` into a temporary folder and runs that tree's ``bench/collector.py``
and this tree's one after the other, `--pairs` times, with this virtualenv's Python (the older
tree first on its ``PYTHONPATH``). Prints each pair's records per second and their ratio (this
tree / REV), then the median ratio. A shared machine's load comes and goes: compare pairs, not
single runs.
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
RATE = re.compile(r"([\d,]+) records/s")


def rate(tree: Path, db: str, records: int) -> float:
    """Records per second printed by `tree`'s bench/collector.py."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "bench/collector.py", "--db", db, "--records",
                          str(records)], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=600)
    found = RATE.search(out.stdout)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"bench/collector.py in {tree} failed: {(out.stderr or out.stdout)[-400:]}")
    return float(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the older commit")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()

    archive = subprocess.run(["git", "archive", args.against], cwd=HERE, capture_output=True,
                             check=True).stdout
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        old_tree = Path(tmp)
        for n in range(1, args.pairs + 1):
            old = rate(old_tree, args.db, args.records)
            new = rate(HERE, args.db, args.records)
            ratios.append(new / old)
            print(f"pair {n} ({args.db}): {args.against} {old:,.0f} records/s, "
                  f"this tree {new:,.0f} records/s, ratio {new / old:.3f}", flush=True)
    print(f"median ratio over {len(ratios)} pairs: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
