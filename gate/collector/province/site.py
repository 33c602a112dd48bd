"""The city's side of the province: naming the collector once and publishing its tables.

`set_site(alias, site_id)` (``gate collector set-site``), on the city's PostgreSQL collector
database, in one transaction:

- keeps the name in ``gate_site`` (one row): a second call with another name is refused;
- gives every published table a ``site_id`` column defaulting to the name, so every row carries
  its city in the change stream (the province keys rows by ``(site_id, city key)``);
- sets ``REPLICA IDENTITY FULL`` on them (and on every month partition of records; new months
  follow in `gate.collector.partitions`): an update's old row then holds ``site_id`` too, which
  the province's keys need to find the row (PostgreSQL 15 refuses an update whose target key has
  a column the publisher did not send). With ``wal_level = logical`` this costs the old row in
  the WAL of each update: rare on records (an alert flag), small on the other tables;
- creates the publication ``gate_province`` of `PUBLISHED_TABLES` with
  ``publish_via_partition_root`` (the month partitions travel as one table) and
  ``publish = 'insert, update'`` (a city's retention never deletes at the province).

City users, sessions and throttles are not published. `SiteReport.missing` says what the
server still lacks (``wal_level = logical``); `instructions` are the settings to make.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connections, transaction

from gate.collector.province import PUBLICATION, PUBLISHED_TABLES
from gate.errors import GateError

SITE_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LOCK_KEY = 847023


class SiteError(GateError, ValueError):
    """A site name that cannot be used here (one line, for the CLI)."""


@dataclass
class SiteReport:
    """What `set_site` found and did."""

    site_id: str
    named_now: bool
    wal_level: str
    max_slot_wal_keep_size: str
    missing: list[str] = field(default_factory=list)


def check_site_id(site_id: str) -> str:
    """`site_id` if it is letters, digits and ``-`` (1 to 63, not starting or ending with ``-``)."""
    if not SITE_PATTERN.fullmatch(site_id or ""):
        raise SiteError(f"{site_id!r} is not a site id: use letters, digits and '-' (at most 63)")
    return site_id


def _require_postgres(alias: str) -> None:
    if connections[alias].vendor != "postgresql":
        raise SiteError("a city's collector must be on PostgreSQL to feed the province "
                        "(--db postgresql://USER@HOST:PORT/DB)")


def current_site(alias: str) -> str | None:
    """The name this collector database gave itself, or None."""
    if connections[alias].vendor != "postgresql":
        return None
    with connections[alias].cursor() as cur:
        cur.execute("SELECT to_regclass('gate_site') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT site_id FROM gate_site")
        row = cur.fetchone()
    return row[0] if row else None


def add_site_column(cur: object, table: str, default: str) -> None:
    """Give `table` a ``site_id`` column (``COLLATE "C"``, NOT NULL, defaulting to `default`)."""
    check_site_id(default)
    cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS site_id varchar(63)"  # type: ignore[attr-defined]
                f" COLLATE \"C\" NOT NULL DEFAULT '{default}'")


def set_site(alias: str, site_id: str) -> SiteReport:
    """Name the city's collector database `site_id` and publish its tables (see the module)."""
    check_site_id(site_id)
    _require_postgres(alias)
    named_now = False
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cur.execute("CREATE TABLE IF NOT EXISTS gate_site (one boolean PRIMARY KEY DEFAULT true"
                    " CHECK (one), site_id varchar(63) NOT NULL,"
                    " named_at timestamptz NOT NULL DEFAULT now())")
        cur.execute("SELECT site_id FROM gate_site")
        row = cur.fetchone()
        if row and row[0] != site_id:
            raise SiteError(f"this collector is already named {row[0]}: a city names itself "
                            "once (the province keys its rows with it)")
        if not row:
            cur.execute("INSERT INTO gate_site (site_id) VALUES (%s)", [site_id])
            named_now = True
        for table in PUBLISHED_TABLES:
            add_site_column(cur, table, site_id)
            cur.execute(f"ALTER TABLE {table} REPLICA IDENTITY FULL")
        cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = 'collector_record'::regclass")
        for (partition,) in cur.fetchall():
            cur.execute(f'ALTER TABLE "{partition}" REPLICA IDENTITY FULL')
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [PUBLICATION])
        if cur.fetchone() is None:
            cur.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {', '.join(PUBLISHED_TABLES)}"
                        " WITH (publish = 'insert, update', publish_via_partition_root = true)")
        cur.execute("SELECT current_setting('wal_level'),"
                    " current_setting('max_slot_wal_keep_size')")
        wal_level, keep = cur.fetchone()
    report = SiteReport(site_id, named_now, wal_level, keep)
    if wal_level != "logical":
        report.missing.append(f"wal_level is {wal_level}, the province needs logical")
    return report


def instructions(report: SiteReport) -> list[str]:
    """What the city's PostgreSQL needs for the province, as lines to print."""
    keep = ("unlimited: a stopped province could fill this disk"
            if report.max_slot_wal_keep_size in ("-1", "") else report.max_slot_wal_keep_size)
    return [
        "postgresql.conf of this city's server (restart after changing wal_level):",
        "  wal_level = logical                 # now " + report.wal_level,
        "  max_slot_wal_keep_size = 20GB       # now " + keep
        + " (what a stopped province may cost this city; past it the province re-syncs)",
        "  max_replication_slots = 10 and max_wal_senders = 10 (the defaults do)",
        "a role the province connects as (pg_hba.conf must let it in):",
        "  CREATE ROLE gate_province LOGIN REPLICATION PASSWORD '...';",
        f"  GRANT SELECT ON gate_site, {', '.join(PUBLISHED_TABLES)} TO gate_province;",
        "then at the province: gate collector province add-city "
        f"{report.site_id} --dsn postgresql://gate_province:PASSWORD@THIS_HOST:5432/DB "
        "--db PROVINCE_URL",
    ]
