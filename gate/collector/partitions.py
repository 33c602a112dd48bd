"""PostgreSQL's month partitions of ``collector_record``: made as records need them, dropped by age.

A partition holds one calendar month (UTC) of ``scanned_at`` and is named
``collector_record_yYYYYmMM``. `ensure_for` makes the partitions a batch needs before it is
inserted (a set of known months is kept per database alias, so the usual batch costs nothing);
it refuses (`PartitionRefused`) any month outside the collector's plausible window
(`gate.collector.records.ScanWindow`: its retention before its clock to one day after it), so no
value a gate sends can make partitions without bound (every partition is a lock a query over
the table takes). `ensure_ahead` makes the window's newest months (run when the collector
starts); `drop_before` is retention: whole months before a date go at once, with their ids and
alerts; `drop_after` removes months after a date (partitions a collector made before windows).
Partitions are created under an advisory lock, so several collector processes can start or
meet a new month together. SQLite has no partitions: these do nothing there.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Callable, Iterable

from django.db import connections, transaction

from gate.collector.models import Alert, Record
from gate.collector.records import FUTURE_ALLOWANCE, ScanWindow
from gate.errors import GateError

_LOCK_KEY = 847002
_DROP_CHUNK = 64
_known: dict[str, set[str]] = {}
_lock = threading.Lock()


class PartitionRefused(GateError, ValueError):
    """A month outside the plausible window was asked for: no partition is made."""


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def partition_name(year: int, month: int) -> str:
    return f"collector_record_y{year:04d}m{month:02d}"


def _create(alias: str, months: set[str]) -> None:
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        # a city feeding the province (gate.collector.province.site) logs whole old rows
        cur.execute("SELECT relreplident = 'f' FROM pg_class WHERE oid = 'collector_record'::regclass")
        full = cur.fetchone()[0]
        for ym in sorted(months):
            year, month = int(ym[:4]), int(ym[5:7])
            ny, nm = _next_month(year, month)
            upper = f"{ny:04d}-{nm:02d}-01T00:00:00Z" if ny <= 9999 else "infinity"
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)}"
                f" PARTITION OF collector_record"
                f" FOR VALUES FROM ('{year:04d}-{month:02d}-01T00:00:00Z') TO ('{upper}')"
            )
            if full:
                cur.execute(f"ALTER TABLE {partition_name(year, month)} REPLICA IDENTITY FULL")


def ensure_for(alias: str, scanned_at: Iterable[str], window: ScanWindow) -> None:
    """Make the month partitions for these canonical ``scanned_at`` texts (or ``YYYY-MM``
    months) on PostgreSQL; PartitionRefused, making none, when one lies outside `window`."""
    months = {text[:7] for text in scanned_at}
    first, last = window.earliest[:7], window.latest[:7]
    outside = sorted(m for m in months if not first <= m <= last)
    if outside:
        raise PartitionRefused(f"month {outside[0]} lies outside the plausible window "
                               f"{first} .. {last}")
    ensure_months(alias, months)


def ensure_months(alias: str, months: Iterable[str]) -> None:
    """Make these ``YYYY-MM`` month partitions on PostgreSQL, unchecked: for a caller whose months
    are bounded otherwise (`ensure_for`'s window; the province, which takes what its cities took)."""
    months = set(months)
    if connections[alias].vendor != "postgresql":
        return
    with _lock:
        missing = months - _known.setdefault(alias, set())
    if not missing:
        return
    _create(alias, missing)
    with _lock:
        _known[alias] |= missing


def ensure_ahead(alias: str, window: ScanWindow) -> None:
    """Make the partitions of the collector's month and of the window's newest time (the next
    month on a month's last day), so records of the coming day need no DDL."""
    today = (datetime.fromisoformat(window.latest.replace("Z", "+00:00"))
             - FUTURE_ALLOWANCE)
    ensure_for(alias, [window.latest[:7], f"{today.year:04d}-{today.month:02d}"], window)


def existing(alias: str) -> list[str]:
    """The partitions now attached to ``collector_record``, oldest first."""
    if connections[alias].vendor != "postgresql":
        return []
    with connections[alias].cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent"
                    " WHERE p.relname = 'collector_record' ORDER BY c.relname")
        return [r[0] for r in cur.fetchall()]


def drop_before(alias: str, cutoff: datetime) -> list[str]:
    """Retention: drop every month partition wholly before `cutoff`; the names dropped.

    Their record ids and alerts go with them. On SQLite the records are deleted by time.
    """
    cutoff = cutoff.astimezone(timezone.utc)
    limit = partition_name(cutoff.year, cutoff.month)
    return _drop_records(alias, {"scanned_at__lt": cutoff}, lambda name: name < limit)


def drop_after(alias: str, cutoff: datetime) -> list[str]:
    """Drop every month partition wholly after `cutoff` (with its ids and alerts); the names.

    For months a collector made before it refused implausible times (a gate naming the year
    9999): no record can arrive there any more. On SQLite the records are deleted by time.
    """
    cutoff = cutoff.astimezone(timezone.utc)
    limit = partition_name(cutoff.year, cutoff.month)
    return _drop_records(alias, {"scanned_at__gt": cutoff}, lambda name: name > limit)


def _drop_records(alias: str, scanned: dict[str, datetime], doomed: Callable[[str], bool]) -> list[str]:
    """On PostgreSQL the month partitions `doomed` names (`_drop`); on SQLite the records (and
    their alerts) `scanned` selects, deleted in one transaction, and no names."""
    if connections[alias].vendor == "postgresql":
        return _drop(alias, doomed)
    with transaction.atomic(using=alias):
        gone = Record.objects.using(alias).filter(**scanned)
        Alert.objects.using(alias).filter(record__in=gone.values("id")).delete()
        gone.delete()
    return []


def _drop(alias: str, doomed: Callable[[str], bool]) -> list[str]:
    """Drop the partitions `doomed` names, `_DROP_CHUNK` to a transaction: each dropped table
    holds a lock until its transaction ends, and thousands at once exhaust the lock table."""
    names = [name for name in existing(alias) if doomed(name)]
    dropped: list[str] = []
    try:
        for start in range(0, len(names), _DROP_CHUNK):
            chunk = names[start:start + _DROP_CHUNK]
            with transaction.atomic(using=alias), connections[alias].cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                for name in chunk:
                    cur.execute(f"DELETE FROM collector_alert WHERE record_id IN"
                                f" (SELECT id FROM {name})")
                    cur.execute(f"DELETE FROM collector_record_id WHERE id IN"
                                f" (SELECT id FROM {name})")
                    cur.execute(f"DROP TABLE IF EXISTS {name}")
            dropped += chunk
    finally:
        with _lock:
            _known.pop(alias, None)
    return dropped
