"""Storing checked records (the device API's hot path), in raw SQL for speed.

`store_records(rows, alias)` inserts in one transaction and answers which ids were new and which
were already held for another device (``id_conflict``); the rest were duplicates from the same
device. `store_alerts(rows, alias)` does the same and marks the records alerts, answering also
which alerts are new (to be logged and paged).

SQLite: ``collector_record.id`` is the primary key; one INSERT ... ON CONFLICT DO NOTHING per row
on the raw connection. PostgreSQL: records are partitioned by month (`partitions`), so the id's
uniqueness lives in ``collector_record_id``; one statement inserts a whole batch, sent as one
JSON array parameter (parsed by the server) instead of 14 arrays psycopg would adapt one value
at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from django.db import connections, transaction

from gate.collector import partitions
from gate.collector.records import RecordRow


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


_SQLITE_INSERT = (
    "INSERT INTO collector_record (id, device_id, venue_id, venue_type, scanned_at, received_at,"
    " decision, reasons, issuer, sub, code_status, temperature_c, is_alert, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _store_sqlite(rows: Sequence[RecordRow], alias: str, alerts: bool) -> Stored:
    stored = Stored()
    conn = connections[alias]
    with transaction.atomic(using=alias):
        conn.ensure_connection()
        cur = conn.connection.cursor()
        try:
            received = {}
            for row in rows:
                if row.received_at not in received:
                    received[row.received_at] = sqlite_unix(row.received_at)
                cur.execute(_SQLITE_INSERT, (
                    row.id, row.device_id, row.venue_id, row.venue_type,
                    sqlite_time(row.scanned_at), received[row.received_at], row.decision,
                    row.reasons, row.issuer, row.sub, row.code_status, row.temperature_c,
                    row.is_alert or alerts, row.record_json,
                ))
                if cur.rowcount == 1:
                    stored.new.add(row.id)
            old = [row for row in rows if row.id not in stored.new]
            for row in old:
                owner = cur.execute("SELECT device_id FROM collector_record WHERE id = ?",
                                    (row.id,)).fetchone()
                if owner is not None and owner[0] != row.device_id:
                    stored.conflicts.add(row.id)
            if alerts:
                for row in rows:
                    if row.id in stored.conflicts:
                        continue
                    cur.execute(
                        "INSERT INTO collector_alert (record_id, received_at, ack_note)"
                        " VALUES (?, ?, '') ON CONFLICT (record_id) DO NOTHING",
                        (row.id, received[row.received_at]),
                    )
                    if cur.rowcount == 1:
                        stored.new_alerts.add(row.id)
                        if row.id not in stored.new:
                            cur.execute("UPDATE collector_record SET is_alert = 1 WHERE id = ?",
                                        (row.id,))
        finally:
            cur.close()
    return stored


_PG_INSERT = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS t(
        id text, device_id text, venue_id text, venue_type text, scanned_at timestamptz,
        received_at float8, decision text, reasons text, issuer text, sub text,
        code_status text, temperature_c float8, is_alert boolean, record jsonb)
), ids AS (
    INSERT INTO collector_record_id (id, device_id, scanned_at)
    SELECT id, device_id, scanned_at FROM batch
    ON CONFLICT (id) DO NOTHING RETURNING id
)
INSERT INTO collector_record (id, device_id, venue_id, venue_type, scanned_at, received_at,
    decision, reasons, issuer, sub, code_status, temperature_c, is_alert, record)
SELECT b.id, b.device_id, b.venue_id, b.venue_type, b.scanned_at, to_timestamp(b.received_at),
    b.decision, b.reasons, b.issuer, b.sub, b.code_status, b.temperature_c, b.is_alert, b.record
FROM batch b JOIN ids USING (id)
RETURNING id
"""


def _rows_json(rows: Sequence[RecordRow], alerts: bool) -> str:
    dumps = json.dumps
    return "[" + ",".join(
        '{"id":%s,"device_id":%s,"venue_id":%s,"venue_type":%s,"scanned_at":%s,'
        '"received_at":%r,"decision":%s,"reasons":%s,"issuer":%s,"sub":%s,"code_status":%s,'
        '"temperature_c":%s,"is_alert":%s,"record":%s}'
        % (dumps(r.id), dumps(r.device_id), dumps(r.venue_id), dumps(r.venue_type),
           dumps(r.scanned_at), float(r.received_at), dumps(r.decision), dumps(r.reasons),
           dumps(r.issuer), dumps(r.sub), dumps(r.code_status),
           "null" if r.temperature_c is None else repr(float(r.temperature_c)),
           "true" if (r.is_alert or alerts) else "false", r.record_json)
        for r in rows
    ) + "]"


def _store_postgres(rows: Sequence[RecordRow], alias: str, alerts: bool) -> Stored:
    stored = Stored()
    partitions.ensure_for(alias, (row.scanned_at for row in rows))
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute(_PG_INSERT, (_rows_json(rows, alerts),))
        stored.new = {r[0] for r in cur.fetchall()}
        old = [row.id for row in rows if row.id not in stored.new]
        if old:
            device = rows[0].device_id
            cur.execute("SELECT id FROM collector_record_id WHERE id = ANY(%s)"
                        " AND device_id <> %s", (old, device))
            stored.conflicts = {r[0] for r in cur.fetchall()}
        if alerts:
            keep = [row for row in rows if row.id not in stored.conflicts]
            if keep:
                cur.execute(
                    "INSERT INTO collector_alert (record_id, received_at, ack_note)"
                    " SELECT id, to_timestamp(%s), '' FROM unnest(%s::text[]) AS id"
                    " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
                    (float(keep[0].received_at), [row.id for row in keep]),
                )
                stored.new_alerts = {r[0] for r in cur.fetchall()}
                flip = [i for i in stored.new_alerts if i not in stored.new]
                if flip:
                    cur.execute("UPDATE collector_record SET is_alert = TRUE"
                                " WHERE id = ANY(%s)", (flip,))
    return stored


def store_records(rows: Sequence[RecordRow], alias: str, alerts: bool = False) -> Stored:
    """Store `rows` (all from one device) at `alias` in one transaction; see `Stored`.

    `alerts`: the rows came as alerts; they are marked so and get an `Alert` row each.
    """
    if not rows:
        return Stored()
    if connections[alias].vendor == "postgresql":
        return _store_postgres(rows, alias, alerts)
    return _store_sqlite(rows, alias, alerts)
