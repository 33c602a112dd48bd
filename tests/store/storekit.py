"""Helpers for the store's tests: records, damaged files, and real mounts (tmpfs, read-only binds)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from gate.record import Record, iso_utc_ms, new_uuid7

T0 = 1795421702.123
PAGE = 1024


def make_record(t: float = T0, *, sub: str = "0011eeff", decision: str = "allow", **changes) -> Record:
    fields = dict(
        id=new_uuid7(t), device_id="gate-nc-0001", venue_id="360102-012-north-gate",
        venue_type="residential", scanned_at=iso_utc_ms(t), clock_trusted=True,
        code={"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": sub, "cti": "a1b2",
              "status": "green", "itinerary_risk": False},
        temperature_c=36.6, temperature_state="normal", decision=decision,
        decision_reasons=["green", "temperature_normal"], rules_version="residential@1",
        trust_list_version=7,
    )
    fields.update(changes)
    return Record(**fields)


def scramble(path: Path, first_page: int, pages: int, seed: int = 1) -> None:
    """Overwrite `pages` pages of the file from `first_page` (0-based) with noise, in place."""
    rng = __import__("random").Random(seed)
    with open(path, "r+b") as f:
        f.seek(first_page * PAGE)
        f.write(bytes(rng.randrange(256) for _ in range(pages * PAGE)))
        f.flush()
        os.fsync(f.fileno())


def checkpointed(path: Path) -> None:
    """Everything of the WAL copied into the main file, as after a quiet night."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


@contextlib.contextmanager
def mounted(target: Path, *mount_args: str) -> Iterator[Path]:
    """A real mount at `target` for the test's duration; the test is skipped where mounting is refused."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a test file system needs root and mount(8)")
    target.mkdir(parents=True, exist_ok=True)
    done = run("mount", *mount_args, str(target))
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        if run("umount", str(target)).returncode != 0:
            run("umount", "-l", str(target))


def remount(target: Path, options: str) -> None:
    done = run("mount", "-o", f"remount,{options}", str(target))
    if done.returncode != 0:
        pytest.skip(f"remounting {options} is not permitted here: {done.stderr.strip()}")
