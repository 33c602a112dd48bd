"""The province's subscriptions: one per city (`add_city`), and how far behind each city is.

`add_city(alias, site_id, dsn)` checks that the database at `dsn` named itself `site_id`
(``gate collector set-site``) and publishes ``gate_province``, prepares the province
(`gate.collector.province.schema`) and creates the subscription ``gate_city_<site>``, which
copies the city's rows once and then follows its changes. PostgreSQL 15 lets only a superuser
create a subscription: the province's collector role must be one (README, "A province").

`resync=True` is for a city whose replication slot was lost (the province was stopped past the
city's ``max_slot_wal_keep_size``): the subscription is dropped, the city's rows at the province
are set aside in the schema ``province_hold`` (rows the city has since dropped by retention stay
the province's), the subscription is made again (a fresh copy) and, once every table is copied,
`city_states` puts the held rows back where the copy has none.

`city_states(alias)` answers one `CityState` per city: ``lag_bytes`` (the city's WAL not yet
confirmed applied by the province), ``lag_s`` (the age of the oldest change not yet applied, 0
when caught up: a quiet city is never behind), ``last_applied_at`` and a state. The age comes
from samples of the city's WAL position kept at each look (``province_lsn_sample``): the oldest
change not applied was written after the last sample already applied, so ``lag_s`` is the age of
the first sample beyond what was applied, within the spacing of the looks (the fleet page and
``province cities`` each take one).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import connections, transaction

from gate.collector.province import PUBLICATION, PUBLISHED_TABLES
from gate.collector.province.schema import prepare
from gate.collector.province.site import check_site_id
from gate.errors import GateError

BEHIND_AFTER_S = 600.0  # province.md: a city more than 10 minutes behind is marked
CITY_CONNECT_TIMEOUT_S = 3
SAMPLES_KEPT = 500
# moving a city's rows aside and back is replication's work (schema.py: the rows are read-only)
_AS_REPLICATION = "SET LOCAL session_replication_role = replica"


class CityError(GateError, ValueError):
    """A city that cannot be added or re-synced as asked (one line, for the CLI)."""


@dataclass
class CityState:
    """One city as `province cities` and the fleet of fleets show it."""

    site_id: str
    state: str  # streaming, copying, lost, unreachable, stopped
    lag_bytes: int | None
    lag_s: float | None
    last_applied_at: str | None
    behind: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def subscription_name(site_id: str) -> str:
    """``gate_city_<site>``: lower case, ``-`` as ``_``, and a hash of the exact name."""
    slug = re.sub(r"[^a-z0-9]", "_", site_id.lower())[:30]
    return f"gate_city_{slug}_{hashlib.sha256(site_id.encode()).hexdigest()[:8]}"


def without_password(dsn: str) -> str:
    """`dsn` with any password replaced by ``***`` (what the province keeps and shows)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _connect_city(dsn: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(dsn, connect_timeout=CITY_CONNECT_TIMEOUT_S, autocommit=True)
    except psycopg.Error as exc:
        raise CityError(f"cannot reach the city at {without_password(dsn)}: "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from exc


def check_city(dsn: str, site_id: str) -> None:
    """The city at `dsn` named itself `site_id`, publishes, and runs with wal_level logical."""
    import psycopg

    with _connect_city(dsn) as conn:
        try:
            row = conn.execute("SELECT (SELECT site_id FROM gate_site),"
                               " EXISTS (SELECT 1 FROM pg_publication WHERE pubname = %s),"
                               " current_setting('wal_level')", [PUBLICATION]).fetchone()
        except psycopg.errors.UndefinedTable:
            row = (None, False, "")
        except psycopg.Error as exc:
            raise CityError(f"cannot read the city's name at {without_password(dsn)}: "
                            f"{str(exc).strip().splitlines()[0]}") from exc
    named, published, wal_level = row
    if named is None:
        raise CityError(f"the database at {without_password(dsn)} has not named itself: "
                        f"run 'gate collector set-site {site_id} --db ...' there")
    if named != site_id:
        raise CityError(f"the database at {without_password(dsn)} is city {named}, not {site_id}")
    if not published:
        raise CityError(f"city {site_id} has no publication {PUBLICATION}: run "
                        f"'gate collector set-site {site_id}' there again")
    if wal_level != "logical":
        raise CityError(f"city {site_id} runs with wal_level = {wal_level}: set wal_level = "
                        "logical in its postgresql.conf and restart it")


def _drop_subscription(cur: Any, name: str) -> None:
    cur.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
    if cur.fetchone() is None:
        return
    cur.execute(f"ALTER SUBSCRIPTION {name} DISABLE")
    cur.execute(f"ALTER SUBSCRIPTION {name} SET (slot_name = NONE)")
    cur.execute(f"DROP SUBSCRIPTION {name}")


def _columns(cur: Any, table: str, schema: str = "public") -> list[str]:
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = %s ORDER BY ordinal_position", [schema, table])
    return [r[0] for r in cur.fetchall()]


def _hold(alias: str, site_id: str) -> int:
    """Set the city's rows aside in ``province_hold`` before a fresh copy; how many."""
    held = 0
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute(_AS_REPLICATION)
        for table in PUBLISHED_TABLES:
            cur.execute(f"CREATE TABLE IF NOT EXISTS province_hold.{table}"
                        f" (LIKE public.{table})")
            columns = ", ".join(_columns(cur, table, "province_hold"))
            cur.execute(f"WITH moved AS (DELETE FROM public.{table} WHERE site_id = %s"
                        f" RETURNING {columns}) INSERT INTO province_hold.{table} ({columns})"
                        f" SELECT {columns} FROM moved", [site_id])
            held += cur.rowcount
    return held


def _put_back(alias: str, site_id: str) -> int:
    """Held rows back where the fresh copy has none (the copy's version wins); how many."""
    back = 0
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute(_AS_REPLICATION)
        for table in PUBLISHED_TABLES:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"province_hold.{table}"])
            if not cur.fetchone()[0]:
                continue
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM province_hold.{table} WHERE site_id = %s)",
                        [site_id])
            if not cur.fetchone()[0]:
                continue
            columns = ", ".join(_columns(cur, table, "province_hold"))
            cur.execute(f"INSERT INTO public.{table} ({columns}) SELECT {columns}"
                        f" FROM province_hold.{table} WHERE site_id = %s ON CONFLICT DO NOTHING",
                        [site_id])
            back += cur.rowcount
            cur.execute(f"DELETE FROM province_hold.{table} WHERE site_id = %s", [site_id])
    return back


def _drop_city_slot(dsn: str, slot: str) -> None:
    with _connect_city(dsn) as conn:
        conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                     " WHERE slot_name = %s AND NOT active", [slot])


def add_city(alias: str, site_id: str, dsn: str, resync: bool = False) -> str:
    """Subscribe the province at `alias` to the city `site_id` at `dsn`; one line saying what."""
    check_site_id(site_id)
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise CityError("--dsn must be postgresql://USER[:PASSWORD]@HOST:PORT/DB")
    check_city(dsn, site_id)
    prepare(alias)
    name = subscription_name(site_id)
    with connections[alias].cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cur.fetchone()[0]:
            raise CityError("creating a subscription needs a superuser on PostgreSQL 15: "
                            "run province commands as the province's superuser role")
        cur.execute("SELECT 1 FROM province_city WHERE site_id = %s", [site_id])
        known = cur.fetchone() is not None
        cur.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
        subscribed = cur.fetchone() is not None
    if (known or subscribed) and not resync:
        raise CityError(f"city {site_id} is already subscribed; give --resync to copy it again "
                        "(after its slot was lost)")
    held = 0
    if resync:
        with connections[alias].cursor() as cur:
            _drop_subscription(cur, name)
        _drop_city_slot(dsn, name)
        held = _hold(alias, site_id)
    from psycopg import sql

    with connections[alias].cursor() as cur:
        # CREATE SUBSCRIPTION cannot run in a transaction: Django's cursor is in autocommit here
        statement = sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}"
                            " WITH (slot_name = {}, copy_data = true)").format(
            sql.Identifier(name), sql.Literal(dsn), sql.Identifier(PUBLICATION),
            sql.Literal(name))
        cur.execute(statement.as_string(connections[alias].connection))
        cur.execute("INSERT INTO province_city (site_id, subscription, dsn) VALUES (%s, %s, %s)"
                    " ON CONFLICT (site_id) DO UPDATE SET dsn = EXCLUDED.dsn,"
                    " resynced_at = CASE WHEN %s THEN now() END",
                    [site_id, name, without_password(dsn), resync])
    if resync:
        return (f"city {site_id} re-synced: a fresh copy is on its way; {held} rows kept at the "
                "province meanwhile go back where the copy has none")
    return f"city {site_id} added: its rows are being copied, then its changes follow"


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _city_position(alias: str, name: str) -> tuple[str, str | None, str | None, bool] | str:
    """(current WAL lsn, slot's confirmed flush lsn, wal_status, active) at the city, or why not."""
    import psycopg

    with connections[alias].cursor() as cur:
        cur.execute("SELECT subconninfo FROM pg_subscription WHERE subname = %s", [name])
        row = cur.fetchone()
    if row is None:
        return "no subscription"
    try:
        with psycopg.connect(row[0], connect_timeout=CITY_CONNECT_TIMEOUT_S,
                             autocommit=True) as conn:
            found = conn.execute(
                "SELECT pg_current_wal_insert_lsn()::text, s.confirmed_flush_lsn::text, s.wal_status,"
                " s.active FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s"
                " ON s.slot_name = %s", [name]).fetchone()
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()
        return text[0] if text else type(exc).__name__
    return found[0], found[1], found[2], bool(found[3])


def city_states(alias: str, now: datetime | None = None) -> list[CityState]:
    """Every city of the province at `alias`, by site id (see the module)."""
    now = now or datetime.now(timezone.utc)
    with connections[alias].cursor() as cur:
        cur.execute("SELECT to_regclass('province_city') IS NOT NULL")
        if not cur.fetchone()[0]:
            return []
        cur.execute("SELECT c.site_id, c.subscription, c.last_applied_at, s.subenabled,"
                    " st.pid, st.latest_end_time,"
                    " (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid"
                    "  AND r.srsubstate <> 'r')"
                    " FROM province_city c LEFT JOIN pg_subscription s ON s.subname = c.subscription"
                    " LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL"
                    " ORDER BY c.site_id")
        rows = cur.fetchall()
    states = []
    for site_id, name, stored_applied, enabled, pid, latest_end, copying in rows:
        states.append(_state(alias, site_id, name, stored_applied, enabled, pid, latest_end,
                             copying, now))
    return states


def _state(alias: str, site_id: str, name: str, stored_applied: datetime | None,
           enabled: bool | None, pid: int | None, latest_end: datetime | None, copying: int,
           now: datetime) -> CityState:
    applied = latest_end or stored_applied
    if latest_end is not None:
        with connections[alias].cursor() as cur:
            cur.execute("UPDATE province_city SET last_applied_at = %s WHERE site_id = %s",
                        [latest_end, site_id])
    position = _city_position(alias, name)
    applied_text = applied.astimezone(timezone.utc).isoformat() if applied else None
    stale = applied is None or (now - applied).total_seconds() > BEHIND_AFTER_S
    if isinstance(position, str):
        return CityState(site_id, "unreachable", None, None, applied_text, stale, position)
    current, confirmed, wal_status, active = position
    if confirmed is None or wal_status == "lost":
        return CityState(site_id, "lost", None, None, applied_text, True,
                         f"past its slot cap (max_slot_wal_keep_size): re-sync with 'gate "
                         f"collector province add-city {site_id} --dsn ... --resync'")
    lag_bytes = max(0, _lsn(current) - _lsn(confirmed))
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("INSERT INTO province_lsn_sample (site_id, at, lsn) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING", [site_id, now, current])
        cur.execute("DELETE FROM province_lsn_sample WHERE site_id = %s AND at < (SELECT at FROM"
                    " province_lsn_sample WHERE site_id = %s ORDER BY at DESC OFFSET %s LIMIT 1)",
                    [site_id, site_id, SAMPLES_KEPT])
        lag_s = 0.0
        if lag_bytes > 0:
            cur.execute("SELECT min(at) FROM province_lsn_sample WHERE site_id = %s"
                        " AND lsn > %s::pg_lsn", [site_id, confirmed])
            first = cur.fetchone()[0]
            lag_s = max(0.0, (now - first).total_seconds()) if first else 0.0
    if copying:
        state = "copying"
    elif not enabled or pid is None:
        state = "stopped"
    else:
        state = "streaming"
    if copying == 0:
        _put_back(alias, site_id)
    detail = {"copying": f"{copying} table(s) still being copied",
              "stopped": "the province is not applying this city's changes (see its log)"
              }.get(state, "")
    return CityState(site_id, state, lag_bytes, round(lag_s, 1), applied_text,
                     lag_s > BEHIND_AFTER_S or state == "stopped" and stale, detail)
