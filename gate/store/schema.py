"""The record store's schema, its migrations, and how a record's body is kept on the card.

The row is kept small because every byte of it is written to an SD card, which wears: the
RECORD JSON is stored deflated with a preset dictionary (about a quarter of its size), the page size is 1 KiB (a
durable commit writes whole pages to the WAL), and a scan touches only two b-trees: the table
and the queue index `records_queue (state, id)`, which serves the upload queue in id order,
the look-up by id, the rejected list and the queue depth (a covering index). The re-measure
memory is written only when it changes. Looking up a subject's records scans the table: only a
technician asks, and an index on it cost a page per scan.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

import sqlite_utils

from gate.store.errors import StoreUnavailable

PAGE_SIZE = 1024

# records.state
PENDING, DELIVERED, REJECTED = 0, 1, 2
STATES = (PENDING, DELIVERED, REJECTED)


# The preset dictionary of the stored body (format byte 1): the RECORD's keys and common values,
# so a ~670-byte record is kept in ~170 bytes. NEVER edit it: stored bodies depend on it; a
# better dictionary is a new format byte.
BODY_DICT_1 = (
    b'"override":null,"trust_list_stale":false,"fire_release":false,"temperature_raw":null,'
    b'"temperature_raw":{"object_c":36.,"ambient_c":2},"alert":true,"alert":false,"faults":[],'
    b'"decision_reasons":["code_valid","green","yellow","red","temperature_normal","temperature_high",'
    b'"recheck","store_unavailable","attendant_override"],"rules_version":"residential@1","trust_list_version":'
    b'"temperature_state":"normal","decision":"allow","decision":"deny","temperature_c":36.'
    b'"code":{"valid":true,"reason":"ok","issuer":"CN-","sub":"00000000000000000000000000000000",'
    b'"cti":"0000000000000000","status":"green","itinerary_risk":false},'
    b'{"id":"01900000-0000-7000-8000-000000000000","device_id":"gate-","venue_id":"","venue_type":"residential",'
    b'"scanned_at":"2026-01-01T00:00:00.000Z","clock_trusted":true,'
)
_FORMAT_DICT_1 = b"\x01"


def encode_body(record_json: dict[str, Any]) -> bytes:
    """The stored form of a RECORD object: compact JSON, deflated with BODY_DICT_1 (format byte 1)."""
    text = json.dumps(record_json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=BODY_DICT_1)
    return _FORMAT_DICT_1 + packer.compress(text) + packer.flush()


def decode_body(body: bytes | str) -> dict[str, Any]:
    """The RECORD object of a stored body (format byte 1, or the JSON text of schema 1)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        if data[:1] != _FORMAT_DICT_1:
            raise ValueError("stored record body of an unknown format")
        unpacker = zlib.decompressobj(-15, zdict=BODY_DICT_1)
        text = unpacker.decompress(data[1:]) + unpacker.flush()
        return json.loads(text.decode("utf-8"))
    return json.loads(body)


# --- migrations -----------------------------------------------------------------------------
# MIGRATIONS[n] takes a database from user_version n to n + 1. Append, never edit: a gate in
# the field may be at any earlier version.


def _migration_1(db: sqlite_utils.Database) -> None:
    """The first schema: records, the re-measure memory, small durable state."""
    db.execute(
        """
        CREATE TABLE records (
            id TEXT PRIMARY KEY,
            scanned_at TEXT NOT NULL,
            scanned_epoch REAL NOT NULL,
            subject_key TEXT,
            decision TEXT NOT NULL,
            alert INTEGER NOT NULL,
            body TEXT NOT NULL,
            committed_at REAL NOT NULL,
            delivered_at REAL,
            alert_sent_at REAL,
            rejected_at REAL,
            rejected_error TEXT
        )
        """
    )
    db.execute(
        "CREATE INDEX records_pending ON records(id)"
        " WHERE delivered_at IS NULL AND rejected_at IS NULL"
    )
    db.execute(
        "CREATE INDEX records_alerts_pending ON records(id)"
        " WHERE alert = 1 AND alert_sent_at IS NULL AND delivered_at IS NULL AND rejected_at IS NULL"
    )
    db.execute("CREATE INDEX records_subject ON records(subject_key, id)")
    db.execute(
        "CREATE INDEX records_delivered ON records(scanned_epoch) WHERE delivered_at IS NOT NULL"
    )
    # WITHOUT ROWID: one b-tree each instead of table + key index, one page less per scan.
    db.execute(
        "CREATE TABLE abnormal_memory (subject_key TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")


RECORDS_V2 = """
    CREATE TABLE records (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        state INTEGER NOT NULL DEFAULT 0,
        scanned_epoch REAL NOT NULL,
        subject_key TEXT,
        alert INTEGER NOT NULL,
        committed_at REAL NOT NULL,
        body BLOB NOT NULL,
        recovered INTEGER NOT NULL DEFAULT 0,
        delivered_at REAL,
        alert_sent_at REAL,
        rejected_at REAL,
        rejected_error TEXT
    )
"""
INDEXES_V2 = (
    "CREATE INDEX records_queue ON records(state, id)",
    "CREATE INDEX records_alerts_pending ON records(id) WHERE alert = 1 AND alert_sent_at IS NULL AND state = 0",
    "CREATE INDEX records_delivered ON records(scanned_epoch) WHERE state = 1",
)


def _migration_2(db: sqlite_utils.Database) -> None:
    """A compact row: compressed body, a state column, one queue index instead of four indexes.

    About 28 KiB were written per scan with schema 1 (seven pages); see bench/store.py.
    """
    db.execute(RECORDS_V2.replace("CREATE TABLE records", "CREATE TABLE records_v2"))
    rows = db.execute(
        "SELECT id, scanned_epoch, subject_key, alert, committed_at, body, delivered_at,"
        " alert_sent_at, rejected_at, rejected_error FROM records ORDER BY id"
    ).fetchall()
    db.conn.executemany(
        "INSERT INTO records_v2 (id, state, scanned_epoch, subject_key, alert, committed_at, body,"
        " delivered_at, alert_sent_at, rejected_at, rejected_error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(r[0], DELIVERED if r[6] is not None else REJECTED if r[8] is not None else PENDING,
          r[1], r[2], r[3], r[4], encode_body(json.loads(r[5])), r[6], r[7], r[8], r[9]) for r in rows],
    )
    db.execute("DROP TABLE records")
    db.execute("ALTER TABLE records_v2 RENAME TO records")
    for sql in INDEXES_V2:
        db.execute(sql)


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = [_migration_1, _migration_2]


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version written in the file (PRAGMA user_version)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(db: sqlite_utils.Database, migrations: list[Migration] = MIGRATIONS) -> int:
    """Bring the database up to len(migrations), each step in its own transaction; return the version.

    A step that fails is rolled back whole and leaves the version where it was. A file from a
    newer gate (a version beyond the known ones) is refused.
    """
    version = schema_version(db)
    if version > len(migrations):
        raise StoreUnavailable(
            f"schema version {version} is newer than this gate knows ({len(migrations)}); update the gate"
        )
    for target in range(version + 1, len(migrations) + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) >= target:  # another process migrated meanwhile
                db.execute("ROLLBACK")
                continue
            migrations[target - 1](db)
            db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
    return schema_version(db)
