"""A damaged record store: moved aside whole, and what is readable in it recovered.

A store that fails SQLite's check is never written again. `move_aside` renames it with its WAL
and shared-memory files to ``scans.db.corrupt-<UTC time>`` (``-wal``, ``-shm``): never deleted,
for a technician. `recover` reads a COPY of that set with SQLite's own recovery, the ``.recover``
command of the sqlite3 shell (Debian package ``sqlite3``), which walks every page it can still
read, and returns the records not yet delivered (waiting for upload, or rejected and kept for a
technician) and the re-measure memory. Rows SQLite could not place in their table (its
``lost_and_found``) are kept when a column holds a readable record body: resending a record the
collector already has is harmless (it answers "duplicate").
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.record import parse_iso_utc
from gate.store.errors import StoreUnavailable
from gate.store.schema import DELIVERED, PENDING, REJECTED, decode_body, encode_body

SIDE_FILES = ("-wal", "-shm")
RECOVER_TIMEOUT_S = 600.0
RECOVERED_FAULT = "store_corrupt"


@dataclass
class Recovered:
    """What could be read back from a damaged store."""

    records: list[dict[str, Any]] = field(default_factory=list)  # rows for Store._insert_recovered
    memory: list[tuple[str, float]] = field(default_factory=list)  # (subject_key, at)


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename the store and its -wal/-shm to ``<name>.corrupt-<UTC time>``; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(str(target) + s).exists() for s in ("",) + SIDE_FILES):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in SIDE_FILES + ("",):  # the main file last: a crash half-way leaves it in place
        source = Path(str(path) + suffix)
        if source.exists():
            source.rename(Path(str(target) + suffix))
    return target


def recover(corrupt: Path, sqlite3_shell: str | None = None) -> Recovered:
    """The undelivered records and the re-measure memory readable in the store at `corrupt`.

    Works on a copy, so the damaged files are never written (opening a WAL database may
    checkpoint it). StoreUnavailable when the sqlite3 shell is missing or fails.
    """
    shell = sqlite3_shell or shutil.which("sqlite3")
    if shell is None:
        raise StoreUnavailable("cannot recover the damaged store: the sqlite3 shell is missing "
                               "(apt-get install sqlite3)", "store_corrupt")
    with tempfile.TemporaryDirectory(prefix="gate-recover-") as tmp:
        copy = Path(tmp) / "damaged.db"
        for suffix in ("",) + SIDE_FILES:
            source = Path(str(corrupt) + suffix)
            if source.exists() and suffix != "-shm":  # the -shm is rebuilt from the WAL
                shutil.copyfile(source, Path(str(copy) + suffix))
        if not copy.exists() or copy.stat().st_size == 0:
            return Recovered()
        try:
            done = subprocess.run([shell, str(copy), ".recover --ignore-freelist"], capture_output=True,
                                  timeout=RECOVER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreUnavailable(f"recovering {corrupt.name} failed: {exc}", "store_corrupt") from exc
        sql = done.stdout.decode("utf-8", "replace")
        if done.returncode != 0 and not sql.strip():
            detail = " ".join(done.stderr.decode("utf-8", "replace").split())[:200]
            if "not a database" in detail or "malformed" in detail:
                return Recovered()  # nothing readable: an empty recovery, the file is kept
            raise StoreUnavailable(f"recovering {corrupt.name} failed: {detail}", "store_corrupt")
        scratch_path = Path(tmp) / "recovered.db"
        scratch = sqlite3.connect(scratch_path, isolation_level=None)
        try:
            try:
                scratch.executescript(sql)
            except sqlite3.Error:
                # A statement the damaged schema made impossible: keep what was inserted.
                if scratch.in_transaction:
                    scratch.execute("COMMIT")
            return _read(scratch)
        finally:
            scratch.close()


def _tables(db: sqlite3.Connection) -> dict[str, list[str]]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
    return {n: [c[1] for c in db.execute(f'PRAGMA table_info("{n}")')] for n in names}


def _read(db: sqlite3.Connection) -> Recovered:
    out = Recovered()
    seen: set[str] = set()
    tables = _tables(db)
    columns = tables.get("records", [])
    if "body" in columns:
        for row in db.execute("SELECT * FROM records"):
            values = dict(zip(columns, row))
            state = _state(values)
            if state == DELIVERED:
                continue
            made = _row(values.get("body"), state, values)
            if made is not None and made["id"] not in seen:
                seen.add(made["id"])
                out.records.append(made)
    if "abnormal_memory" in tables:
        for key, at in db.execute("SELECT subject_key, at FROM abnormal_memory"):
            if isinstance(key, str) and isinstance(at, (int, float)):
                out.memory.append((key, float(at)))
    lost = tables.get("lost_and_found", [])
    value_columns = [c for c in lost if c.startswith("c") and c[1:].isdigit()]
    if value_columns:
        for row in db.execute(f"SELECT {', '.join(value_columns)} FROM lost_and_found"):
            for value in row:
                made = _row(value, PENDING, {}) if isinstance(value, (bytes, str)) else None
                if made is not None and made["id"] not in seen:
                    seen.add(made["id"])
                    out.records.append(made)
                    break
    out.records.sort(key=lambda r: r["id"])
    return out


def _state(values: dict[str, Any]) -> int:
    if "state" in values:
        return values["state"] if values["state"] in (PENDING, DELIVERED, REJECTED) else PENDING
    if values.get("delivered_at") is not None:
        return DELIVERED
    if values.get("rejected_at") is not None:
        return REJECTED
    return PENDING


def _row(body: Any, state: int, values: dict[str, Any]) -> dict[str, Any] | None:
    """A row for the fresh store from a stored body, flagged as recovered; None if unreadable."""
    try:
        record = decode_body(body)
        record_id = record["id"]
        scanned_epoch = parse_iso_utc(record["scanned_at"])
        code = record.get("code") or {}
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        del exc
        return None
    except Exception:  # noqa: BLE001  (zlib.error and friends: a damaged body is not a record)
        return None
    if not isinstance(record_id, str):
        return None
    faults = record.get("faults") if isinstance(record.get("faults"), list) else []
    record["faults"] = sorted(set(faults) | {RECOVERED_FAULT})
    issuer, sub = code.get("issuer"), code.get("sub")
    return {
        "id": record_id,
        "state": state,
        "scanned_epoch": scanned_epoch,
        "subject_key": f"{issuer}:{sub}" if issuer and sub else None,
        "alert": 1 if record.get("alert") else 0,
        "committed_at": values.get("committed_at") or time.time(),
        "body": encode_body(record),
        "alert_sent_at": values.get("alert_sent_at"),
        "rejected_at": values.get("rejected_at") if state == REJECTED else None,
        "rejected_error": values.get("rejected_error") if state == REJECTED else None,
    }
