"""PostgreSQL's month partitions of ``collector_record``: made as records need them, dropped by age.

A partition holds one calendar month (UTC) of ``scanned_at`` and is named
``collector_record_yYYYYmMM``. `ensure_for` makes the partitions a batch needs before it is
inserted (a set of known months is kept per database alias, so the usual batch costs nothing);
`ensure_ahead` makes this month's and the next ones (run when the collector starts);
`drop_before` is retention: whole months before a date go at once, with their ids and alerts.
Partitions are created under an advisory lock, so several collector processes can start or
meet a new month together. SQLite has no partitions: these do nothing there.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Iterable

from django.db import connections, transaction

_LOCK_KEY = 847002
_known: dict[str, set[str]] = {}
_lock = threading.Lock()


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


def ensure_for(alias: str, scanned_at: Iterable[str]) -> None:
    """Make the month partitions for these canonical ``scanned_at`` texts (PostgreSQL only)."""
    if connections[alias].vendor != "postgresql":
        return
    months = {text[:7] for text in scanned_at}
    with _lock:
        missing = months - _known.setdefault(alias, set())
    if not missing:
        return
    _create(alias, missing)
    with _lock:
        _known[alias] |= missing


def ensure_ahead(alias: str, months: int = 2, now: datetime | None = None) -> None:
    """Make this month's partition and the next `months` ones."""
    moment = now or datetime.now(timezone.utc)
    year, month = moment.year, moment.month
    wanted = []
    for _ in range(months + 1):
        wanted.append(f"{year:04d}-{month:02d}")
        year, month = _next_month(year, month)
    ensure_for(alias, wanted)


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
    if connections[alias].vendor != "postgresql":
        from gate.collector.models import Alert, Record

        with transaction.atomic(using=alias):
            old = Record.objects.using(alias).filter(scanned_at__lt=cutoff)
            Alert.objects.using(alias).filter(record__in=old.values("id")).delete()
            old.delete()
        return []
    limit = partition_name(cutoff.year, cutoff.month)
    dropped = []
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        for name in existing(alias):
            if name < limit:
                cur.execute(f"DELETE FROM collector_alert WHERE record_id IN"
                            f" (SELECT id FROM {name})")
                cur.execute(f"DELETE FROM collector_record_id WHERE id IN (SELECT id FROM {name})")
                cur.execute(f"DROP TABLE {name}")
                dropped.append(name)
    with _lock:
        _known.pop(alias, None)
    return dropped
