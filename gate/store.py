"""The gate's local record store and upload queue: one SQLite file (sqlite-utils), WAL, synchronous=FULL.

Every scan is committed here before the relay may move (`commit` returns only once the
record is durable). Sync reads the queue oldest first, marks what the collector named
as delivered, rejected or sent as an alert. Nothing that has not been delivered is ever
deleted: `prune` and `free_space_prune` only remove delivered records.

Any SQLite or OS failure (disk full, read-only file, corrupt file, a folder that cannot be
made) raises `StoreUnavailable` with a one-line message; the kiosk turns it into
deny/store_unavailable and keeps the gate shut.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from gate.errors import GateError
from gate.record import Record, parse_iso_utc

BUSY_TIMEOUT_MS = 5000
PRUNE_BATCH = 1000
FREE_SPACE_BATCH = 200
FREE_SPACE_FLAG = "free_space_pruned"


class StoreUnavailable(GateError):
    """The record store cannot be read or written; the message is one line saying why."""


# --- schema migrations ----------------------------------------------------------------------
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


Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = [_migration_1]


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


def _disk_full(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, sqlite3.Error) and getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


# --- the store ------------------------------------------------------------------------------


_INSERT_RECORD = (
    "INSERT INTO records (id, scanned_at, scanned_epoch, subject_key, decision, alert, body, committed_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _record_row(record: Record) -> tuple[Any, ...]:
    """The `records` row of one scan: indexed columns and the RECORD JSON as uploaded."""
    body = json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":"))
    return (record.id, record.scanned_at, parse_iso_utc(record.scanned_at), record.subject_key, record.decision,
            1 if record.alert else 0, body, time.time())


class Store:
    """The record store at `path` (made, with its folder, if missing).

    Safe to share between threads of one process; the kiosk and `gate sync` may each open
    the same file (WAL lets one write while the other reads; writers wait up to the busy
    timeout).
    """

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db: sqlite_utils.Database | None = None
        with self._guard(f"making its folder {self.path.parent}"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard("open"):
            conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout_ms / 1000.0,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
                check_same_thread=False,
            )
            try:
                db = sqlite_utils.Database(conn)
                db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                fresh = schema_version(db) == 0 and not db.table_names()
                if fresh:
                    # Only settable before the first table: lets free_space_prune give pages back.
                    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreUnavailable(f"store {self.path}: cannot use WAL (journal mode {mode})")
                db.execute("PRAGMA synchronous = FULL")
                apply_migrations(db)
                # Prove the file is writable now rather than at the first scan.
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            except BaseException:
                conn.close()
                raise
            self._db = db

    # -- plumbing --

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except StoreUnavailable as exc:
            if str(exc).startswith("store "):
                raise
            raise StoreUnavailable(f"store {self.path}: {exc}") from exc
        except (sqlite3.Error, OSError) as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreUnavailable(f"store {self.path}: {action} failed: {detail}") from exc

    @contextlib.contextmanager
    def _use(self, action: str) -> Iterator[sqlite_utils.Database]:
        with self._lock, self._guard(action):
            if self._db is None:
                raise StoreUnavailable("closed")
            yield self._db

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite_utils.Database]:
        """One write transaction, committed (and, with synchronous=FULL, on disk) on exit."""
        with self._use(action) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    # -- writing scans --

    def commit(
        self,
        record: Record,
        remember_abnormal: tuple[str, float] | None = None,
        forget_abnormal: str | None = None,
    ) -> None:
        """Write one scan durably, with the re-measure memory change in the same transaction.

        `remember_abnormal` = (subject_key, epoch time of the abnormal reading) sets the memory;
        `forget_abnormal` = subject_key clears it. Returns only once committed.
        """
        with self._transaction("commit") as db:
            db.execute(_INSERT_RECORD, _record_row(record))
            if forget_abnormal is not None:
                db.execute("DELETE FROM abnormal_memory WHERE subject_key = ?", (forget_abnormal,))
            if remember_abnormal is not None:
                key, at = remember_abnormal
                db.execute(
                    "INSERT INTO abnormal_memory (subject_key, at) VALUES (?, ?)"
                    " ON CONFLICT(subject_key) DO UPDATE SET at = excluded.at",
                    (key, float(at)),
                )

    def commit_many(self, records: Iterable[Record]) -> int:
        """Write many records in one durable transaction (all or none); returns how many.

        For importing a backlog (another gate's records, a benchmark's month of scans): one
        fsync instead of one per record. Scans at the gate go through `commit`.
        """
        rows = [_record_row(record) for record in records]
        with self._transaction("commit") as db:
            db.conn.executemany(_INSERT_RECORD, rows)
        return len(rows)

    def last_abnormal_at(self, subject_key: str) -> float | None:
        """When the remembered abnormal reading of this subject was taken, or None."""
        with self._use("read memory") as db:
            row = db.execute(
                "SELECT at FROM abnormal_memory WHERE subject_key = ?", (subject_key,)
            ).fetchone()
        return None if row is None else float(row[0])

    # -- reading --

    def get(self, record_id: str) -> Record | None:
        """The record with this id, or None."""
        rows = self._records("SELECT body FROM records WHERE id = ?", (record_id,))
        return rows[0] if rows else None

    def pending(self, limit: int) -> list[Record]:
        """Records still to upload (not delivered, not rejected), oldest first by id."""
        return self._records(
            "SELECT body FROM records"
            " WHERE delivered_at IS NULL AND rejected_at IS NULL ORDER BY id LIMIT ?",
            (int(limit),),
        )

    def pending_json(self, limit: int) -> list[dict[str, Any]]:
        """As `pending`, as the RECORD objects to upload (what `Record.to_json` gives), cheaper."""
        with self._use("read records") as db:
            rows = db.execute(
                "SELECT body FROM records WHERE delivered_at IS NULL AND rejected_at IS NULL"
                " ORDER BY id LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def pending_alerts(self, limit: int) -> list[Record]:
        """Alert records not yet sent as an alert, not delivered, not rejected; oldest first."""
        return self._records(
            "SELECT body FROM records"
            " WHERE alert = 1 AND alert_sent_at IS NULL AND delivered_at IS NULL"
            " AND rejected_at IS NULL ORDER BY id LIMIT ?",
            (int(limit),),
        )

    def records_of_subject(self, subject_key: str, limit: int) -> list[Record]:
        """This subject's records (key "iss:sub_hex"), newest first."""
        return self._records(
            "SELECT body FROM records WHERE subject_key = ? ORDER BY id DESC LIMIT ?",
            (subject_key, int(limit)),
        )

    def rejected(self) -> list[tuple[Record, str]]:
        """Records the collector rejected, oldest first, each with the collector's error."""
        with self._use("read rejected") as db:
            rows = db.execute(
                "SELECT body, rejected_error FROM records WHERE rejected_at IS NOT NULL ORDER BY id"
            ).fetchall()
        return [(Record.from_json(json.loads(body), validate=False), error) for body, error in rows]

    def queue_depth(self) -> int:
        """How many records wait for upload (not delivered, not rejected)."""
        with self._use("count queue") as db:
            return int(db.execute(
                "SELECT count(*) FROM records"
                " WHERE delivered_at IS NULL AND rejected_at IS NULL"
            ).fetchone()[0])

    def oldest_pending_scanned_at(self) -> str | None:
        """scanned_at of the oldest record waiting for upload, or None when the queue is empty."""
        with self._use("read queue") as db:
            row = db.execute(
                "SELECT scanned_at FROM records"
                " WHERE delivered_at IS NULL AND rejected_at IS NULL ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def count(self) -> int:
        """How many records the store holds, delivered or not."""
        with self._use("count records") as db:
            return int(db.execute("SELECT count(*) FROM records").fetchone()[0])

    def _records(self, sql: str, params: tuple[Any, ...]) -> list[Record]:
        with self._use("read records") as db:
            rows = db.execute(sql, params).fetchall()
        return [Record.from_json(json.loads(body), validate=False) for (body,) in rows]

    # -- what sync learned --

    def mark_delivered(self, ids: Iterable[str], now: float | None = None) -> int:
        """Mark records the collector named (accepted or duplicate) as delivered; return how many changed."""
        return self._mark(
            "UPDATE records SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL", ids, now
        )

    def mark_alert_sent(self, ids: Iterable[str], now: float | None = None) -> int:
        """Mark alert records as sent to /v1/alerts (they stay queued for a normal batch)."""
        return self._mark(
            "UPDATE records SET alert_sent_at = ? WHERE id = ? AND alert_sent_at IS NULL", ids, now
        )

    def mark_rejected(self, errors: Mapping[str, str], now: float | None = None) -> int:
        """Mark records the collector rejected, keeping its error; they are never resent nor deleted."""
        at = time.time() if now is None else now
        with self._transaction("mark rejected") as db:
            return db.conn.executemany(
                "UPDATE records SET rejected_at = ?, rejected_error = ?"
                " WHERE id = ? AND delivered_at IS NULL",
                [(at, str(error), record_id) for record_id, error in errors.items()],
            ).rowcount

    def _mark(self, sql: str, ids: Iterable[str], now: float | None) -> int:
        at = time.time() if now is None else now
        with self._transaction("mark records") as db:
            return db.conn.executemany(sql, [(at, record_id) for record_id in ids]).rowcount

    # -- retention --

    def prune(self, retention_days: int, now: float) -> int:
        """Delete delivered records scanned more than `retention_days` before `now`; return how many.

        Undelivered and rejected records are never deleted. Re-measure memories older than
        the retention go too. Works in small transactions so a scan never waits long behind it.
        """
        cutoff = now - retention_days * 86400.0
        deleted = self._delete_delivered("scanned_epoch < ?", (cutoff,), limit=None)
        # A re-measure memory is minutes old when it matters; one older than the retention is
        # of a subject who never came back.
        with self._transaction("prune memory") as db:
            db.execute("DELETE FROM abnormal_memory WHERE at < ?", (cutoff,))
        return deleted

    def free_space_prune(self, min_free_bytes: int, now: float) -> int:
        """When the disk has less than `min_free_bytes` free, delete the oldest delivered records.

        Goes on until enough is free or no delivered record is left; returns how many were
        deleted. When it deletes anything it sets the `free_space_pruned` flag (meta) that
        the health check reads: {"at": now, "deleted": n, "free_bytes": ...}.
        """
        deleted = 0
        batch = FREE_SPACE_BATCH
        # The WAL may hold megabytes of already-checkpointable frames: give those back first.
        self._give_back_space()
        while self.free_bytes() < min_free_bytes:
            try:
                n = self._delete_delivered("1", (), limit=batch, batches=1)
            except StoreUnavailable as exc:
                # A delete needs room in the WAL too; with almost none left, delete fewer at once.
                if batch > 1 and _disk_full(exc):
                    batch //= 2
                    continue
                raise
            if n == 0:
                break
            deleted += n
            self._give_back_space()
        if deleted:
            self.meta_set(FREE_SPACE_FLAG, {"at": now, "deleted": deleted, "free_bytes": self.free_bytes()})
        return deleted

    def free_space_pruned(self) -> dict[str, Any] | None:
        """The last free-space prune for the health check, or None if none has happened."""
        value = self.meta_get(FREE_SPACE_FLAG)
        return value if isinstance(value, dict) else None

    def free_bytes(self) -> int:
        """Bytes free for this store on its file system (what a non-root writer may use)."""
        with self._guard("stat disk"):
            st = os.statvfs(self.path.parent)
        return int(st.f_bavail * st.f_frsize)

    def _delete_delivered(
        self,
        where: str,
        params: tuple[Any, ...],
        limit: int | None,
        batches: int | None = None,
    ) -> int:
        total = 0
        done = 0
        while batches is None or done < batches:
            with self._transaction("delete delivered records") as db:
                n = db.execute(
                    "DELETE FROM records WHERE id IN (SELECT id FROM records"
                    f" WHERE delivered_at IS NOT NULL AND {where} ORDER BY scanned_epoch LIMIT ?)",
                    (*params, limit or PRUNE_BATCH),
                ).rowcount
            total += n
            done += 1
            if n < (limit or PRUNE_BATCH):
                break
        return total

    def _give_back_space(self) -> None:
        """Checkpoint and truncate the WAL, hand free pages back to the file system."""
        with self._use("free space") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            # executescript steps it to the end; execute() would free a single page.
            db.executescript("PRAGMA incremental_vacuum;")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # -- small durable state --

    def meta_get(self, key: str, default: Any = None) -> Any:
        """A small durable value (JSON) stored under `key`, or `default`."""
        with self._use("read meta") as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def meta_set(self, key: str, value: Any) -> None:
        """Store a small JSON value under `key` durably; None deletes it."""
        with self._transaction("write meta") as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value, separators=(",", ":"))),
                )

    # -- health --

    def integrity_ok(self) -> bool:
        """Whether SQLite's integrity check finds the file sound."""
        try:
            with self._use("check integrity") as db:
                rows = db.execute("PRAGMA integrity_check").fetchall()
        except StoreUnavailable:
            return False
        return [tuple(r) for r in rows] == [("ok",)]

    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._use("read schema version") as db:
            return schema_version(db)

    def close(self) -> None:
        """Close the file; safe to call twice."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
