"""The collector's database: devices, scan records stored once per id forever, and alerts.

Two backends behind one small interface, chosen by URL:

- ``sqlite:///collector.db`` (relative path) or ``sqlite:////var/lib/gate/collector.db``
  (absolute): the embedded default, WAL mode, one connection behind a lock per process.
- ``postgresql://user@host:port/dbname`` (psycopg 3): for a city's fleet, where several
  collector processes behind a load balancer share one database; a small connection pool.

Tables (created on open, idempotently):

- ``devices(device_id PK, public_key, enabled, added_at)``: ``public_key`` is base64 of the
  Ed25519 SubjectPublicKeyInfo DER.
- ``records(id PK, device_id, scanned_at, decision, received_at, record)``: ``id`` is the
  record's UUID (lower case), the idempotency key; a record is inserted with
  ``ON CONFLICT (id) DO NOTHING`` so it is stored once however often it is sent, and never
  expires. ``record`` is the JSON as received (JSONB on PostgreSQL); ``scanned_at`` is
  normalised to ``YYYY-MM-DDTHH:MM:SS.fffZ`` (UTC) so it sorts and groups by text;
  ``received_at`` is the collector's unix time.
- ``alerts(id PK -> records.id, received_at)``: records that arrived through ``/v1/alerts``.
  An alert is logged and paged only when its row here is new.
- ``heartbeats(device_id PK, received_at, heartbeat)``: the latest heartbeat of each device
  (upload.md) and when it arrived.

Every write is one transaction. Errors that mean "the database is away or busy" are raised as
`DatabaseUnavailable`, which the web application answers with 503 and ``Retry-After``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple, Sequence

from gate.errors import GateError


class DatabaseUnavailable(GateError):
    """The database cannot be reached or is busy; the client should retry later."""


@dataclass(frozen=True, slots=True)
class Device:
    """A registered gate: its id, base64 SPKI public key, and whether it may upload."""

    device_id: str
    public_key: str
    enabled: bool


class RecordRow(NamedTuple):
    """One scan record ready to store: indexed columns plus the record's JSON text."""

    id: str
    device_id: str
    scanned_at: str
    decision: str
    received_at: float
    record_json: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert for the status page."""

    id: str
    received_at: float
    device_id: str
    scanned_at: str
    decision: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HourlyCount:
    """Scans of one gate in one hour (``hour`` is ``YYYY-MM-DDTHH``, UTC, by scan time)."""

    device_id: str
    hour: str
    total: int
    not_allowed: int


def open_database(url: str) -> "Database":
    """The backend for `url` (``sqlite:///PATH`` or ``postgresql://...``), schema created."""
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


class Database:
    """What the collector needs from a database; see the module docstring for the tables."""

    url: str

    def add_device(self, device_id: str, public_key_b64: str) -> None:
        """Register a device, or replace its key; the device is enabled."""
        raise NotImplementedError

    def set_device_enabled(self, device_id: str, enabled: bool) -> bool:
        """Enable or disable a device; False when the device is unknown."""
        raise NotImplementedError

    def device(self, device_id: str) -> Device | None:
        raise NotImplementedError

    def devices(self) -> list[Device]:
        raise NotImplementedError

    def store_records(self, rows: Sequence[RecordRow]) -> set[str]:
        """Insert the rows in one transaction; the ids that were not stored before."""
        raise NotImplementedError

    def store_alert(self, row: RecordRow) -> tuple[bool, bool]:
        """Store an alert's record and mark it an alert: (record was new, alert was new)."""
        raise NotImplementedError

    def store_heartbeat(self, device_id: str, received_at: float, heartbeat_json: str) -> None:
        """Keep `heartbeat_json` as the latest heartbeat of the device, arrived at `received_at`."""
        raise NotImplementedError

    def heartbeat(self, device_id: str) -> tuple[float, dict[str, Any]] | None:
        """(received_at, heartbeat) of the device's latest heartbeat, or None."""
        raise NotImplementedError

    def count_records(self, device_id: str | None = None) -> int:
        raise NotImplementedError

    def record(self, record_id: str) -> dict[str, Any] | None:
        """The stored JSON of one record, or None."""
        raise NotImplementedError

    def recent_alerts(self, limit: int = 50) -> list[AlertRow]:
        raise NotImplementedError

    def hourly_counts(self, since_scanned_at: str, limit: int = 1000) -> list[HourlyCount]:
        """Per gate and hour, scans at or after `since_scanned_at` (normalised text form)."""
        raise NotImplementedError

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    added_at REAL NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS REAL))
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    decision TEXT NOT NULL,
    received_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_device_scanned ON records (device_id, scanned_at);
CREATE INDEX IF NOT EXISTS records_scanned ON records (scanned_at);
CREATE INDEX IF NOT EXISTS records_received ON records (received_at);
CREATE INDEX IF NOT EXISTS records_decision ON records (decision);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY REFERENCES records (id),
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_received ON alerts (received_at);
CREATE TABLE IF NOT EXISTS heartbeats (
    device_id TEXT PRIMARY KEY,
    received_at REAL NOT NULL,
    heartbeat TEXT NOT NULL
);
"""

_INSERT_RECORD_SQLITE = (
    "INSERT INTO records (id, device_id, scanned_at, decision, received_at, record)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


class SQLiteDatabase(Database):
    """The embedded backend: one WAL-mode SQLite file, one connection guarded by a lock."""

    def __init__(self, path: str) -> None:
        self.url = f"sqlite:///{path}"
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SQLITE_SCHEMA)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"cannot open SQLite database {path}: {exc}") from exc

    @contextmanager
    def _cursor(self, write: bool = False) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                if write:
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
                if write:
                    cur.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise DatabaseUnavailable(str(exc)) from exc
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise
            finally:
                cur.close()

    def add_device(self, device_id: str, public_key_b64: str) -> None:
        with self._cursor(write=True) as cur:
            cur.execute(
                "INSERT INTO devices (device_id, public_key, enabled) VALUES (?, ?, 1)"
                " ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key,"
                " enabled = 1",
                (device_id, public_key_b64),
            )

    def set_device_enabled(self, device_id: str, enabled: bool) -> bool:
        with self._cursor(write=True) as cur:
            cur.execute(
                "UPDATE devices SET enabled = ? WHERE device_id = ?", (int(enabled), device_id)
            )
            return cur.rowcount == 1

    def device(self, device_id: str) -> Device | None:
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT device_id, public_key, enabled FROM devices WHERE device_id = ?",
                (device_id,),
            ).fetchone()
        return Device(row[0], row[1], bool(row[2])) if row else None

    def devices(self) -> list[Device]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT device_id, public_key, enabled FROM devices ORDER BY device_id"
            ).fetchall()
        return [Device(r[0], r[1], bool(r[2])) for r in rows]

    def store_records(self, rows: Sequence[RecordRow]) -> set[str]:
        new: set[str] = set()
        if not rows:
            return new
        with self._cursor(write=True) as cur:
            for row in rows:
                cur.execute(_INSERT_RECORD_SQLITE, row)
                if cur.rowcount == 1:
                    new.add(row.id)
        return new

    def store_alert(self, row: RecordRow) -> tuple[bool, bool]:
        with self._cursor(write=True) as cur:
            cur.execute(_INSERT_RECORD_SQLITE, row)
            record_new = cur.rowcount == 1
            cur.execute(
                "INSERT INTO alerts (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (row.id, row.received_at),
            )
            alert_new = cur.rowcount == 1
        return record_new, alert_new

    def store_heartbeat(self, device_id: str, received_at: float, heartbeat_json: str) -> None:
        with self._cursor(write=True) as cur:
            cur.execute(
                "INSERT INTO heartbeats (device_id, received_at, heartbeat) VALUES (?, ?, ?)"
                " ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at,"
                " heartbeat = excluded.heartbeat",
                (device_id, received_at, heartbeat_json),
            )

    def heartbeat(self, device_id: str) -> tuple[float, dict[str, Any]] | None:
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT received_at, heartbeat FROM heartbeats WHERE device_id = ?", (device_id,)
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def count_records(self, device_id: str | None = None) -> int:
        with self._cursor() as cur:
            if device_id is None:
                return cur.execute("SELECT count(*) FROM records").fetchone()[0]
            return cur.execute(
                "SELECT count(*) FROM records WHERE device_id = ?", (device_id,)
            ).fetchone()[0]

    def record(self, record_id: str) -> dict[str, Any] | None:
        with self._cursor() as cur:
            row = cur.execute("SELECT record FROM records WHERE id = ?", (record_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def recent_alerts(self, limit: int = 50) -> list[AlertRow]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT a.id, a.received_at, r.device_id, r.scanned_at, r.decision, r.record"
                " FROM alerts a JOIN records r ON r.id = a.id"
                " ORDER BY a.received_at DESC, a.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [AlertRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def hourly_counts(self, since_scanned_at: str, limit: int = 1000) -> list[HourlyCount]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT device_id, substr(scanned_at, 1, 13) AS hour, count(*),"
                " sum(CASE WHEN decision = 'allow' THEN 0 ELSE 1 END)"
                " FROM records WHERE scanned_at >= ?"
                " GROUP BY device_id, hour ORDER BY hour DESC, device_id LIMIT ?",
                (since_scanned_at, limit),
            ).fetchall()
        return [HourlyCount(r[0], r[1], r[2], r[3]) for r in rows]

    def ping(self) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    decision TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_device_scanned ON records (device_id, scanned_at);
CREATE INDEX IF NOT EXISTS records_scanned ON records (scanned_at);
CREATE INDEX IF NOT EXISTS records_received ON records (received_at);
CREATE INDEX IF NOT EXISTS records_decision ON records (decision);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY REFERENCES records (id),
    received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_received ON alerts (received_at);
CREATE TABLE IF NOT EXISTS heartbeats (
    device_id TEXT PRIMARY KEY,
    received_at DOUBLE PRECISION NOT NULL,
    heartbeat JSONB NOT NULL
);
"""

# An arbitrary constant: serialises schema creation between collector processes starting at once.
_SCHEMA_LOCK_KEY = 847001

# The rows travel as one JSON array text: one parameter, parsed by the server, instead of six
# arrays of 500 values that psycopg would adapt one element at a time.
_INSERT_RECORDS_PG = (
    "INSERT INTO records (id, device_id, scanned_at, decision, received_at, record)"
    " SELECT id, device_id, scanned_at, decision, received_at, record"
    " FROM jsonb_to_recordset(%s::jsonb) AS t(id text, device_id text, scanned_at text,"
    " decision text, received_at float8, record jsonb)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _rows_json(rows: Sequence[RecordRow]) -> str:
    return "[" + ",".join(
        '{"id":%s,"device_id":%s,"scanned_at":%s,"decision":%s,"received_at":%r,"record":%s}'
        % (json.dumps(r.id), json.dumps(r.device_id), json.dumps(r.scanned_at),
           json.dumps(r.decision), float(r.received_at), r.record_json)
        for r in rows
    ) + "]"


class PostgresDatabase(Database):
    """The shared backend: PostgreSQL through psycopg 3, with a small pool of connections."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        import psycopg  # imported here so an SQLite-only host never needs libpq

        self._psycopg = psycopg
        self.url = url
        self._pool_size = pool_size
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            cur.execute(_PG_SCHEMA)

    def _connect(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except self._psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc

    def _release(self, conn: Any) -> None:
        if conn.closed or conn.broken:
            return
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self._connect()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._psycopg.OperationalError as exc:
            conn.close()
            raise DatabaseUnavailable(str(exc)) from exc
        except BaseException:
            self._release(conn)
            raise
        self._release(conn)

    def add_device(self, device_id: str, public_key_b64: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO devices (device_id, public_key, enabled) VALUES (%s, %s, TRUE)"
                " ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key,"
                " enabled = TRUE",
                (device_id, public_key_b64),
            )

    def set_device_enabled(self, device_id: str, enabled: bool) -> bool:
        with self._transaction() as cur:
            cur.execute(
                "UPDATE devices SET enabled = %s WHERE device_id = %s", (enabled, device_id)
            )
            return cur.rowcount == 1

    def device(self, device_id: str) -> Device | None:
        with self._transaction() as cur:
            cur.execute(
                "SELECT device_id, public_key, enabled FROM devices WHERE device_id = %s",
                (device_id,),
            )
            row = cur.fetchone()
        return Device(row[0], row[1], bool(row[2])) if row else None

    def devices(self) -> list[Device]:
        with self._transaction() as cur:
            cur.execute("SELECT device_id, public_key, enabled FROM devices ORDER BY device_id")
            rows = cur.fetchall()
        return [Device(r[0], r[1], bool(r[2])) for r in rows]

    def store_records(self, rows: Sequence[RecordRow]) -> set[str]:
        if not rows:
            return set()
        with self._transaction() as cur:
            cur.execute(_INSERT_RECORDS_PG, (_rows_json(rows),))
            return {r[0] for r in cur.fetchall()}

    def store_alert(self, row: RecordRow) -> tuple[bool, bool]:
        with self._transaction() as cur:
            cur.execute(_INSERT_RECORDS_PG, (_rows_json([row]),))
            record_new = bool(cur.fetchall())
            cur.execute(
                "INSERT INTO alerts (id, received_at) VALUES (%s, %s)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (row.id, row.received_at),
            )
            alert_new = bool(cur.fetchall())
        return record_new, alert_new

    def store_heartbeat(self, device_id: str, received_at: float, heartbeat_json: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO heartbeats (device_id, received_at, heartbeat)"
                " VALUES (%s, %s, %s::jsonb)"
                " ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at,"
                " heartbeat = excluded.heartbeat",
                (device_id, received_at, heartbeat_json),
            )

    def heartbeat(self, device_id: str) -> tuple[float, dict[str, Any]] | None:
        with self._transaction() as cur:
            cur.execute(
                "SELECT received_at, heartbeat FROM heartbeats WHERE device_id = %s", (device_id,)
            )
            row = cur.fetchone()
        return (row[0], row[1]) if row else None

    def count_records(self, device_id: str | None = None) -> int:
        with self._transaction() as cur:
            if device_id is None:
                cur.execute("SELECT count(*) FROM records")
            else:
                cur.execute("SELECT count(*) FROM records WHERE device_id = %s", (device_id,))
            return cur.fetchone()[0]

    def record(self, record_id: str) -> dict[str, Any] | None:
        with self._transaction() as cur:
            cur.execute("SELECT record FROM records WHERE id = %s", (record_id,))
            row = cur.fetchone()
        return row[0] if row else None

    def recent_alerts(self, limit: int = 50) -> list[AlertRow]:
        with self._transaction() as cur:
            cur.execute(
                "SELECT a.id, a.received_at, r.device_id, r.scanned_at, r.decision, r.record"
                " FROM alerts a JOIN records r ON r.id = a.id"
                " ORDER BY a.received_at DESC, a.id DESC LIMIT %s",
                (limit,),
            )
            rows = cur.fetchall()
        return [AlertRow(*r) for r in rows]

    def hourly_counts(self, since_scanned_at: str, limit: int = 1000) -> list[HourlyCount]:
        with self._transaction() as cur:
            cur.execute(
                "SELECT device_id, substr(scanned_at, 1, 13) AS hour, count(*),"
                " sum(CASE WHEN decision = 'allow' THEN 0 ELSE 1 END)"
                " FROM records WHERE scanned_at >= %s"
                " GROUP BY device_id, hour ORDER BY hour DESC, device_id LIMIT %s",
                (since_scanned_at, limit),
            )
            rows = cur.fetchall()
        return [HourlyCount(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def ping(self) -> None:
        with self._transaction() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
