"""A damaged record store: moved aside whole, and what is readable in it recovered.

A store that fails SQLite's check is never written again. `move_aside` renames it with its WAL
and shared-memory files to ``scans.db.corrupt-<UTC time>`` (``-wal``, ``-shm``): never deleted,
for a technician. `recover` reads those files (read-only) page by page as SQLite's ``.recover``
does (pages.py: Debian's SQLite lacks the ``sqlite_dbpage`` table that ``.recover`` needs) and
returns the records not yet delivered (waiting for upload, or rejected and kept for a
technician) and the re-measure memory. A record found in several versions (an old copy on a free
page, a newer one in the WAL) is taken in its newest; between copies in the main file, one that
says delivered or rejected wins; where in doubt a record is sent again, and the collector
answers "duplicate" for one it already has.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.record import parse_iso_utc
from gate.store import pages
from gate.store.errors import StoreUnavailable
from gate.store.schema import DELIVERED, PENDING, REJECTED, decode_body, encode_body

SIDE_FILES = ("-wal", "-shm")
RECOVERED_FAULT = "store_corrupt"


@dataclass
class Recovered:
    """What could be read back from a damaged store."""

    records: list[dict[str, Any]] = field(default_factory=list)  # rows for the fresh store
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


def recover(corrupt: Path) -> Recovered:
    """The undelivered records and the re-measure memory readable in the store at `corrupt`."""
    if not corrupt.exists() and not Path(str(corrupt) + "-wal").exists():
        return Recovered()
    best = Recovered()
    for size in pages.page_sizes(corrupt):
        try:
            found = _read(pages.PageFile(corrupt, size))
        except OSError as exc:
            raise StoreUnavailable(f"recovering {corrupt.name} failed: {exc}", "store_corrupt") from exc
        if len(found.records) > len(best.records) or (not best.records and len(found.memory) > len(best.memory)):
            best = found
        if found.records:
            break  # the right page size: a wrong one parses no record at all
    return best


# Where the columns of a `records` row are, by schema; the rowid alias `n` is stored as NULL.
_V2 = dict(id=1, state=2, body=7, committed_at=6, alert_sent_at=10, rejected_at=11, rejected_error=12)
_V1 = dict(id=0, body=6, committed_at=7, delivered_at=8, alert_sent_at=9, rejected_at=10, rejected_error=11)


def _read(page_file: pages.PageFile) -> Recovered:
    versions: dict[str, tuple[int, int, dict[str, Any]]] = {}  # id -> (source, state, row)
    memory: dict[str, tuple[int, float]] = {}
    for row in page_file.rows():
        v = row.values
        if not row.table:
            if len(v) == 2 and isinstance(v[0], str) and ":" in v[0] and isinstance(v[1], float):
                if v[0] not in memory or row.source >= memory[v[0]][0]:
                    memory[v[0]] = (row.source, v[1])
            continue
        if len(v) > 7 and isinstance(v[7], bytes):
            layout = _V2
        elif len(v) > 6 and isinstance(v[6], str):
            layout = _V1
        else:
            continue
        values = {k: (v[i] if i < len(v) else None) for k, i in layout.items()}
        state = _state(values)
        made = _row(values["body"], state, values)
        if made is None:
            continue
        known = versions.get(made["id"])
        if known is not None:
            newer = row.source > known[0] or (row.source == known[0] == 0 and state != PENDING)
            if not newer:
                continue
        versions[made["id"]] = (row.source, state, made)
    out = Recovered(memory=sorted((k, at) for k, (_, at) in memory.items()))
    out.records = sorted((made for _, state, made in versions.values() if state != DELIVERED),
                         key=lambda r: r["id"])
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
        "rejected_at": (values.get("rejected_at") or time.time()) if state == REJECTED else None,
        "rejected_error": values.get("rejected_error") if state == REJECTED else None,
    }
