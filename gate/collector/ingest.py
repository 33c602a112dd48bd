"""Storing checked records (the device API's hot path), in raw SQL for speed.

`store_records(rows, alias)` inserts in one transaction and answers which ids were new and which
were already held for another device (``id_conflict``); the rest were duplicates from the same
device. Being an alert is a property of the record (upload.md, Alerts): every row that is one
(`RecordRow.is_alert`, the vocabulary's rule), or that its gate sent as one (``alerts=True``,
``POST /v1/alerts``), gets its `Alert` row in the same transaction, whichever request brought it
and whether the record is new or a duplicate; the `Alert` row's primary key makes each record an
alert once, so `Stored.new_alerts` (to be logged and paged) names each alert exactly once.

SQLite: ``collector_record.id`` is the primary key; inside one BEGIN IMMEDIATE transaction (so no
other writer can come between) the ids already held are read by key, and the new rows inserted
with one executemany on the raw connection. PostgreSQL: records are partitioned by month (`partitions`), so the id's
uniqueness lives in ``collector_record_id``; one statement inserts a whole batch into both
tables, sent as one JSON array parameter (one array of the columns per row, encoded by orjson,
parsed once by the server) instead of one array per column that psycopg would adapt one value at
a time; the columns are listed once, `RECORD_COLUMNS`. The
statement first assumes every id is new (plain inserts); only a batch holding an id already held
goes back to a savepoint and through ``ON CONFLICT DO NOTHING`` (see `_insert_new`).
"""

from __future__ import annotations

import json
import operator
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

import orjson
from django.db import connections, transaction

from gate.collector import partitions
from gate.collector.records import RecordRow, ScanWindow


@dataclass
class Stored:
    """What one store did: ids newly stored, ids held for another device, new alerts."""

    new: set[str] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)
    new_alerts: set[str] = field(default_factory=set)


def sqlite_time(text: str) -> str:
    """Canonical ``...T..:..:..fffZ`` as Django stores a UTC datetime in SQLite."""
    base = text[:10] + " " + text[11:19]
    millis = text[20:23]
    return base if millis == "000" else f"{base}.{millis}000"


def sqlite_unix(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, timezone.utc)
    return moment.replace(tzinfo=None).isoformat(" ")


# The columns of ``collector_record`` that ingest writes, once: their order is the order of every
# statement below and of every row's values (`RecordRow` has one attribute per column, of the
# same name), and each says how PostgreSQL reads it from a batch's JSON array (element ``{i}``).
# The table itself is defined once, by the `Record` model (see tests/collector/test_ingest.py).
RECORD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "e->>{i}"),
    ("device_id", "e->>{i}"),
    ("venue_id", "e->>{i}"),
    ("venue_type", "e->>{i}"),
    ("scanned_at", "(e->>{i})::timestamptz"),
    ("received_at", "to_timestamp((e->>{i})::float8)"),
    ("decision", "e->>{i}"),
    ("reasons", "e->>{i}"),
    ("issuer", "e->>{i}"),
    ("sub", "e->>{i}"),
    ("code_status", "e->>{i}"),
    ("temperature_c", "(e->>{i})::float8"),
    ("is_alert", "(e->>{i})::boolean"),
    ("record", "e->{i}"),
)
_NAMES = tuple(name for name, _ in RECORD_COLUMNS)
_COLUMN_LIST = ", ".join(_NAMES)
_values = operator.attrgetter(*_NAMES)  # a RecordRow's values in column order, as one tuple
_SCANNED_AT, _RECEIVED_AT, _IS_ALERT, _RECORD = (_NAMES.index(n) for n in
                                                 ("scanned_at", "received_at", "is_alert", "record"))

_SQLITE_INSERT = (
    f"INSERT INTO collector_record ({_COLUMN_LIST})"
    f" VALUES ({', '.join('?' * len(_NAMES))}) ON CONFLICT (id) DO NOTHING"
)


def _sqlite_values(row: RecordRow, alerts: bool, received: str) -> list[Any]:
    """`row`'s values as SQLite stores them: Django's time texts, the record as JSON text."""
    values = list(_values(row))
    values[_SCANNED_AT] = sqlite_time(row.scanned_at)
    values[_RECEIVED_AT] = received
    values[_IS_ALERT] = row.is_alert or alerts
    values[_RECORD] = row.record_json
    return values


def _store_sqlite(rows: Sequence[RecordRow], alias: str, alerts: bool) -> Stored:
    stored = Stored()
    conn = connections[alias]
    with transaction.atomic(using=alias):  # BEGIN IMMEDIATE: this writer holds the lock
        conn.ensure_connection()
        cur = sqlite3.Cursor(conn.connection)  # a plain cursor, without Django's wrapper
        try:
            held: dict[str, str] = {}
            ids = [row.id for row in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                cur.execute("SELECT id, device_id FROM collector_record WHERE id IN ("
                            + ",".join("?" * len(chunk)) + ")", chunk)
                held.update(cur.fetchall())
            received = {}
            params = []
            for row in rows:
                if row.id in held:
                    if held[row.id] != row.device_id:
                        stored.conflicts.add(row.id)
                    continue
                if row.received_at not in received:
                    received[row.received_at] = sqlite_unix(row.received_at)
                params.append(_sqlite_values(row, alerts, received[row.received_at]))
                stored.new.add(row.id)
            cur.executemany(_SQLITE_INSERT, params)
            for row in rows:
                if row.id in stored.conflicts or not (alerts or row.is_alert):
                    continue
                cur.execute(
                    "INSERT INTO collector_alert (record_id, received_at, ack_note)"
                    " VALUES (?, ?, '') ON CONFLICT (record_id) DO NOTHING",
                    (row.id, sqlite_unix(row.received_at)),
                )
                if cur.rowcount == 1:
                    stored.new_alerts.add(row.id)
                    if row.id not in stored.new:
                        cur.execute("UPDATE collector_record SET is_alert = 1 WHERE id = ?",
                                    (row.id,))
        finally:
            cur.close()
    return stored


_PG_BATCH = (
    "\nWITH batch AS (\n    SELECT "
    + ", ".join(f"{how.format(i=i)} AS {name}" for i, (name, how) in enumerate(RECORD_COLUMNS))
    + "\n    FROM jsonb_array_elements(%s::jsonb) AS e\n)"
)

_PG_RECORD_COLUMNS = _COLUMN_LIST

# The usual batch: every id new. Plain inserts, no ON CONFLICT: a speculative insertion costs an
# extra index probe and an extra WAL record per row. If any id is already held (by this batch's
# own resend, another device, or another collector process committing first), the unique key of
# collector_record_id raises and the batch is stored again through _PG_INSERT_SOME.
_PG_INSERT_ALL = _PG_BATCH + f""", ids AS (
    INSERT INTO collector_record_id (id, device_id) SELECT id, device_id FROM batch
)
INSERT INTO collector_record ({_PG_RECORD_COLUMNS})
SELECT {_PG_RECORD_COLUMNS} FROM batch
"""

# A batch holding ids already held: only the ids that the side table takes are inserted.
_PG_INSERT_SOME = _PG_BATCH + f""", ids AS (
    INSERT INTO collector_record_id (id, device_id)
    SELECT id, device_id FROM batch
    ON CONFLICT (id) DO NOTHING RETURNING id
)
INSERT INTO collector_record ({_PG_RECORD_COLUMNS})
SELECT {_PG_RECORD_COLUMNS} FROM batch JOIN ids USING (id)
RETURNING id
"""


def _rows_json(rows: Sequence[RecordRow], alerts: bool) -> str:
    """The rows as one JSON array of arrays (one value per `RECORD_COLUMNS`), encoded in one call.

    orjson encodes a batch about four times faster than the standard library (the encoding was
    a fifth of the insert's time); integers too large for it fall back to the standard library.
    """
    if alerts:
        table = [(*v[:_IS_ALERT], True, *v[_IS_ALERT + 1:]) for v in map(_values, rows)]
    else:
        table = list(map(_values, rows))
    try:
        return orjson.dumps(table).decode("utf-8")
    except orjson.JSONEncodeError:
        return _ENCODE(table)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _store_postgres(rows: Sequence[RecordRow], alias: str, alerts: bool,
                    window: ScanWindow) -> Stored:
    import psycopg  # only a PostgreSQL collector needs libpq

    partitions.ensure_for(alias, (row.scanned_at for row in rows), window)
    conn = connections[alias]
    with transaction.atomic(using=alias):
        conn.ensure_connection()
        # a plain psycopg cursor binds parameters on the server; Django's cursor binds them on
        # the client, quoting the whole batch text in Python
        raw = conn.connection
        if raw.prepare_threshold is None:  # Django turns prepared statements off; ours want them
            raw.prepare_threshold = 5
        with psycopg.Cursor(raw) as cur:
            return _insert_postgres(cur, rows, alerts)


def _insert_new(cur: Any, rows: Sequence[RecordRow], batch: str) -> set[str]:
    """Store `batch` (the JSON of `rows`) and answer the ids newly stored.

    First as if every id were new (`_PG_INSERT_ALL`, under a savepoint); when one is already
    held, back to the savepoint and through `_PG_INSERT_SOME`. The unique key of
    ``collector_record_id`` decides in both, so two collector processes can never both store an
    id: the second waits for the first's transaction and then sees the id held.
    """
    from psycopg.errors import UniqueViolation

    cur.execute("SAVEPOINT gate_ingest")
    try:
        # prepared once per connection: planning the statement cost as much as running it
        cur.execute(_PG_INSERT_ALL, (batch,), prepare=True)
    except UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT gate_ingest")
        cur.execute(_PG_INSERT_SOME, (batch,), prepare=True)
        return {r[0] for r in cur.fetchall()}
    cur.execute("RELEASE SAVEPOINT gate_ingest")
    return {row.id for row in rows}


def _insert_postgres(cur: Any, rows: Sequence[RecordRow], alerts: bool) -> Stored:
    stored = Stored()
    stored.new = _insert_new(cur, rows, _rows_json(rows, alerts))
    old = [row.id for row in rows if row.id not in stored.new]
    if old:
        cur.execute("SELECT id FROM collector_record_id WHERE id = ANY(%s) AND device_id <> %s",
                    (old, rows[0].device_id))
        stored.conflicts = {r[0] for r in cur.fetchall()}
    keep = [row.id for row in rows
            if row.id not in stored.conflicts and (alerts or row.is_alert)]
    if keep:
        cur.execute(
            "INSERT INTO collector_alert (record_id, received_at, ack_note)"
            " SELECT id, to_timestamp(%s), '' FROM unnest(%s::text[]) AS id"
            " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
            (float(rows[0].received_at), keep),
        )
        stored.new_alerts = {r[0] for r in cur.fetchall()}
        flip = [i for i in stored.new_alerts if i not in stored.new]
        if flip:
            cur.execute("UPDATE collector_record SET is_alert = TRUE WHERE id = ANY(%s)", (flip,))
    return stored


def store_records(rows: Sequence[RecordRow], alias: str, alerts: bool = False,
                  window: ScanWindow | None = None) -> Stored:
    """Store `rows` (all from one device) at `alias` in one transaction; see `Stored`.

    Every row that is an alert gets an `Alert` row (once, whichever call brings it first);
    `alerts`: the rows came as alerts (``POST /v1/alerts``), so each of them is one.
    `window`: the plausible ``scanned_at`` (default: this machine's clock and the default
    retention); a row outside it is refused with `partitions.PartitionRefused` before anything
    is stored (the device API rejects such records first, with ``bad_scanned_at``).
    """
    if not rows:
        return Stored()
    window = window or ScanWindow.around(time.time())
    if connections[alias].vendor == "postgresql":
        return _store_postgres(rows, alias, alerts, window)
    partitions.ensure_for(alias, (row.scanned_at for row in rows), window)
    return _store_sqlite(rows, alias, alerts)
