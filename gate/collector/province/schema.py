"""The province's database: the collector's tables keyed by ``(site_id, city key)``.

The province is a collector database like any other (migrated by Django, with its own users,
sessions and audit log). `prepare(alias)` turns its five published tables into the home of every
city's rows, idempotently, under an advisory lock:

- each gets ``site_id`` (default ``province``, for the province's own audit entries) and the
  primary key ``(site_id, city key)``: the same device id, audit id or record id in two cities
  never collides. PostgreSQL's logical replication finds a table by its schema-qualified name,
  so every city's subscription writes into these same tables, and the city's ``site_id`` column
  (`gate.collector.province.site`) fills the key; a default per subscription is not possible
  (a column default belongs to the table, and on PostgreSQL 15 the apply worker refuses an
  update when the target's key holds a column the publisher did not send);
- foreign keys and the unique public key of devices are dropped: a city's user ids mean nothing
  here, and rows of one city must never be refused because of another's;
- a city's rows are read-only at the province except through its subscription (a trigger that
  the apply workers, running as replicas, do not fire): acknowledging stays the city's;
- records get a DEFAULT partition besides the month partitions, so no month a city sends can
  stall its stream; `rehome` moves rows out of it into their month's partition, and
  `ensure_months` makes the months ahead.

The province's own device API (gates of its own) is not supported on these tables: alerts are
keyed by (site_id, record_id) there.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db import connections, transaction

from gate.collector import partitions
from gate.collector.province import CITY_KEYS, PUBLISHED_TABLES
from gate.collector.province.site import add_site_column

OWN_SITE = "province"
DEFAULT_PARTITION = "collector_record_default"
_LOCK_KEY = 847024

# A city's rows change only through its subscription: the apply workers run with
# session_replication_role = replica, where ordinary triggers do not fire; anything else (the
# console acknowledging a city's alert at the province) is refused. Deletes stay possible: the
# province keeps its own retention.
_READ_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION province_city_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.site_id <> 'province' THEN
        RAISE EXCEPTION 'rows of city % are changed in that city, not at the province',
            NEW.site_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$"""

_TABLES = [
    "CREATE TABLE IF NOT EXISTS province_city ("
    " site_id varchar(63) COLLATE \"C\" PRIMARY KEY, subscription text NOT NULL,"
    " dsn text NOT NULL, added_at timestamptz NOT NULL DEFAULT now(),"
    " resynced_at timestamptz, last_applied_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS province_lsn_sample ("
    " site_id varchar(63) COLLATE \"C\" NOT NULL, at timestamptz NOT NULL, lsn pg_lsn NOT NULL,"
    " PRIMARY KEY (site_id, at))",
    "CREATE SCHEMA IF NOT EXISTS province_hold",
]


def is_province(alias: str) -> bool:
    """True when the database at `alias` has been prepared as a province."""
    if connections[alias].vendor != "postgresql":
        return False
    with connections[alias].cursor() as cur:
        cur.execute("SELECT to_regclass('province_city') IS NOT NULL")
        return bool(cur.fetchone()[0])


def has_site_column(alias: str) -> bool:
    """True when records carry ``site_id`` (a named city, or the province)."""
    if connections[alias].vendor != "postgresql":
        return False
    with connections[alias].cursor() as cur:
        cur.execute("SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('collector_record')"
                    " AND attname = 'site_id' AND NOT attisdropped")
        return cur.fetchone() is not None


def _primary_key(cur: object, table: str) -> tuple[str | None, list[str]]:
    cur.execute(  # type: ignore[attr-defined]
        "SELECT c.conname, array_agg(a.attname ORDER BY k.n) FROM pg_constraint c"
        " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
        " WHERE c.conrelid = %s::regclass AND c.contype = 'p' GROUP BY c.conname", [table])
    row = cur.fetchone()  # type: ignore[attr-defined]
    return (row[0], list(row[1])) if row else (None, [])


def prepare(alias: str) -> None:
    """Make the database at `alias` (a migrated collector on PostgreSQL) a province."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        for statement in _TABLES:
            cur.execute(statement)
        for table in PUBLISHED_TABLES:
            add_site_column(cur, table, OWN_SITE)
            cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass"
                        " AND contype IN ('f', 'u')", [table])
            for (name,) in cur.fetchall():
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table in PUBLISHED_TABLES:  # foreign keys first gone: they hang on the old keys
            wanted = ["site_id", *CITY_KEYS[table]]
            name, columns = _primary_key(cur, table)
            if columns != wanted:
                if name:
                    cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                cur.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(wanted)})")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT_PARTITION} PARTITION OF collector_record"
                    " DEFAULT")
        cur.execute(_READ_ONLY_FUNCTION)
        for table in PUBLISHED_TABLES:
            cur.execute(f"CREATE OR REPLACE TRIGGER province_city_rows BEFORE INSERT OR UPDATE"
                        f" ON {table} FOR EACH ROW EXECUTE FUNCTION province_city_rows()")
        # who acknowledged a city's alert: the city's audit entry of it
        cur.execute("CREATE INDEX IF NOT EXISTS province_audit_ack ON collector_audit"
                    " (site_id, (what->>'record_id')) WHERE action = 'alert.acknowledge'")
    ensure_months(alias)


def rehome(alias: str) -> list[str]:
    """Move the rows of the DEFAULT partition into partitions of their months; the months made.

    A month's partition cannot be attached while the default partition holds rows of it, so
    each month goes in one transaction: its rows are moved to a new table, which is attached.
    """
    made = []
    with connections[alias].cursor() as cur:
        cur.execute(f"SELECT DISTINCT to_char(scanned_at AT TIME ZONE 'UTC', 'YYYY-MM')"
                    f" FROM {DEFAULT_PARTITION} ORDER BY 1")
        months = [r[0] for r in cur.fetchall()]
    for ym in months:
        year, month = int(ym[:4]), int(ym[5:7])
        name = partitions.partition_name(year, month)
        low = datetime(year, month, 1, tzinfo=timezone.utc)
        high = (datetime(year + 1, 1, 1, tzinfo=timezone.utc) if month == 12
                else datetime(year, month + 1, 1, tzinfo=timezone.utc))
        with transaction.atomic(using=alias), connections[alias].cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [partitions._LOCK_KEY])
            cur.execute("SET LOCAL session_replication_role = replica")  # moving city rows
            cur.execute("LOCK TABLE collector_record IN ACCESS EXCLUSIVE MODE")
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cur.fetchone()[0]:
                continue  # another process made it meanwhile (and moved the rows)
            # the default partition holds no row of a month that has its own partition
            cur.execute(f"CREATE TABLE {name} (LIKE collector_record INCLUDING DEFAULTS)")
            cur.execute(f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE scanned_at >= %s"
                        f" AND scanned_at < %s RETURNING *) INSERT INTO {name}"
                        " SELECT * FROM moved", [low, high])
            cur.execute(f"ALTER TABLE collector_record ATTACH PARTITION {name}"
                        " FOR VALUES FROM (%s) TO (%s)", [low, high])
            made.append(name)
    if made:
        partitions._known.pop(alias, None)
    return made


def ensure_months(alias: str, ahead: int = 3) -> None:
    """Rows of the default partition to their months, then this month and `ahead` more made."""
    rehome(alias)
    partitions._known.pop(alias, None)
    now = datetime.now(timezone.utc)
    year, month, wanted = now.year, now.month, []
    for _ in range(ahead + 1):
        wanted.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    partitions.ensure_months(alias, wanted)
