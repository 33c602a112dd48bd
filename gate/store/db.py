"""The gate's local record store and upload queue: one SQLite file (sqlite-utils), WAL, synchronous=FULL.

Every scan is committed here before the relay may move (`commit` returns only once the record
is durable). Sync reads the queue oldest first, marks what the collector named as delivered,
rejected or sent as an alert. Nothing that has not been delivered is ever deleted: `prune` and
`free_space_prune` only remove delivered records.

Built to outlive an SD card (issue 16):
- few bytes per scan: 1 KiB pages, a compressed body, two b-trees touched per scan (schema.py);
- a bounded WAL: `wal_autocheckpoint` and `journal_size_limit`, and checkpoints while idle;
- damage found: `PRAGMA quick_check` at open and from the kiosk's idle tick (`idle_check`),
  `integrity_check` for the doctor (`check_integrity`); a damaged store is moved aside whole and
  its undelivered records recovered into a fresh one (recovery.py), flagged `store_corrupt`;
- a store that vanished: a marker beside it (marker.py) turns a missing or emptied store into
  the `store_missing` fault instead of a silent fresh start;
- read-only and full cards: `StoreUnavailable.fault` says which; the kiosk denies every scan
  with `store_unavailable` until a write succeeds again.

Any SQLite or OS failure raises `StoreUnavailable` with a one-line message; the pipeline turns
it into deny/store_unavailable and keeps the gate shut.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from gate.record import Record, parse_iso_utc
from gate.store import marker as markers
from gate.store import recovery
from gate.store.errors import StoreUnavailable, classify
from gate.store.schema import (DELIVERED, PAGE_SIZE, PENDING, REJECTED, apply_migrations, decode_body,
                               encode_body, schema_version)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
PRUNE_BATCH = 1000
FREE_SPACE_BATCH = 200
FREE_SPACE_FLAG = "free_space_pruned"
STORE_ID = "store_id"
FAULT_META = "fault:"  # meta keys "fault:store_corrupt", "fault:store_missing": a fault kept until cleared

# The WAL: checkpointed into the main file every WAL_AUTOCHECKPOINT pages (1 KiB each), so it
# stays near 0.5 MiB, and cut back to JOURNAL_SIZE_LIMIT after a checkpoint that a large
# transaction let grow past it. The limit is above the usual size on purpose: a WAL cut below
# it grows again on every cycle, and each growth costs the card a file-system journal write.
WAL_AUTOCHECKPOINT = 500
JOURNAL_SIZE_LIMIT = 1024 * 1024
# The most the WAL file may hold (SQLite's defaults let it reach 4 MiB and more): the checkpoint
# threshold (about 0.5 MiB) leaves room for the largest transaction a sync mark makes.
WAL_BOUND_BYTES = 1024 * 1024
# While idle, the WAL is checkpointed once this process has committed this many scans since the
# last checkpoint: often enough that the automatic one seldom falls on a scan, seldom enough that
# a quiet gate does not write each scan's pages twice.
IDLE_CHECKPOINT_COMMITS = 50
IDLE_CHECK_EVERY_S = 300.0  # quick_check while idle, at most this often

_STATE_IN = "state IN (0, 1, 2)"  # lets a look-up by id use records_queue (state, id)
_INSERT_RECORD = (
    "INSERT INTO records (id, state, scanned_epoch, subject_key, alert, committed_at, body)"
    " VALUES (?, 0, ?, ?, ?, ?, ?)"
)


def _record_row(record: Record) -> tuple[Any, ...]:
    """The `records` row of one scan: the few indexed columns and the RECORD JSON compressed."""
    return (record.id, parse_iso_utc(record.scanned_at), record.subject_key, 1 if record.alert else 0,
            time.time(), encode_body(record.to_json()))


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, StoreUnavailable) and exc.fault == "store_full"


def check_integrity(path: Path | str) -> tuple[bool, str]:
    """SQLite's full `integrity_check` of the store at `path`, read-only: (sound, one line).

    For `gate doctor`: opens nothing for writing, moves nothing, recovers nothing.
    """
    path = Path(path)
    if not path.exists():
        return False, f"store {path} does not exist"
    if path.stat().st_size == 0:
        return False, f"store {path} is empty (0 bytes)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        detail = " ".join(str(exc).split())
        if classify(exc) == "store_corrupt":
            return False, f"store {path} is damaged: {detail}"
        return False, f"store {path} cannot be checked: {detail}"
    if rows == ["ok"]:
        return True, f"store {path} passes SQLite's integrity check"
    return False, f"store {path} is damaged: {' '.join(str(rows[0]).split())[:160]} ({len(rows)} problems)"


def kept_faults(path: Path | str) -> dict[str, dict[str, Any]]:
    """The kept faults of the store at `path` (store_corrupt, store_missing) with what each
    recorded ({"recovered": n, "moved_to": ...}), read without opening it for writing: for the
    doctor and the heartbeat. Empty when there are none or the file cannot be read.
    """
    try:
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE 'fault:%'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return {key[len(FAULT_META):]: json.loads(value) for key, value in rows}


class Store:
    """The record store at `path` (made, with its folder, if missing).

    Safe to share between threads of one process; the kiosk and `gate sync` may each open the
    same file (WAL lets one write while the other reads; writers wait up to the busy timeout).
    Opening checks the file (quick_check) and, when it is damaged, moves it aside and recovers
    its undelivered records into a fresh store before returning; `faults()` then says so.
    """

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.RLock()
        self._db: sqlite_utils.Database | None = None
        self._ino: int | None = None
        self._failure: str | None = None  # fault of the last write that failed (full, read-only)
        self._depth: int = 0  # queue depth as last counted or kept up to date by this process
        self._marked_band: int | None = None
        self._store_id = ""
        self._last_check = time.monotonic()
        self._commits_since_checkpoint = 0
        with self._guard(f"making its folder {self.path.parent}"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._open_lock():
            self._open()

    # -- opening, checking, recovering --

    @contextlib.contextmanager
    def _open_lock(self) -> Iterator[None]:
        """Serialises opening and recovery between processes (the kiosk and `gate sync`)."""
        with self._guard("lock"):
            fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _open(self) -> None:
        known = markers.read_marker(self.path)
        missing_before = not self.path.exists() or self.path.stat().st_size == 0
        try:
            self._connect()
            damage = self._quick_check()
        except StoreUnavailable as exc:
            if exc.fault != "store_corrupt":
                raise
            damage = str(exc)
        if damage is not None:
            self._replace_damaged(damage)
            return
        self._after_open(known, missing_before)

    def _connect(self) -> None:
        with self._guard("open"):
            conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout_ms / 1000.0,
                                   isolation_level=None,  # transactions are explicit
                                   check_same_thread=False)
            try:
                db = sqlite_utils.Database(conn)
                db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
                fresh = schema_version(db) == 0 and not db.table_names()
                if fresh:
                    # Only settable before the first table: small pages (fewer bytes per scan),
                    # and free pages that free_space_prune can give back.
                    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreUnavailable(f"cannot use WAL (journal mode {mode})")
                db.execute("PRAGMA synchronous = FULL")
                db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
                db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
                apply_migrations(db)
                # Prove the file is writable now rather than at the first scan.
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            except BaseException:
                conn.close()
                raise
            self._db = db
            self._ino = os.stat(self.path).st_ino

    def _quick_check(self, fresh: bool = False) -> str | None:
        """None when SQLite's quick_check finds the file sound, else its first complaint.

        `fresh` checks through a connection of its own, so pages this connection holds in its
        cache do not hide what is now on the card.
        """
        with self._use("check") as db:
            conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout_ms / 1000.0) if fresh else db.conn
            try:
                rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
            except sqlite3.DatabaseError as exc:
                if classify(exc) != "store_corrupt":
                    raise
                rows = [str(exc)]
            finally:
                if fresh:
                    conn.close()
        self._last_check = time.monotonic()
        return None if rows == ["ok"] else " ".join(str(rows[0]).split())[:160]

    def _after_open(self, known: markers.Marker | None, missing_before: bool) -> None:
        store_id = self.meta_get(STORE_ID)
        if store_id is None:
            store_id = str(uuid.uuid4())
            self.meta_set(STORE_ID, store_id)
        self._store_id = store_id
        self._depth = self.queue_depth()
        if known is not None and known.queue_depth > 0 and known.store_id != store_id:
            # Where a store with undelivered records stood there is none, or an empty or other one.
            what = "missing" if missing_before else "a different store"
            log.error("record store %s: %s where store %s had %d records waiting; they are missing",
                      self.path, what, known.store_id, known.queue_depth)
            self.meta_set(FAULT_META + "store_missing", {
                "at": time.time(), "store_id": known.store_id, "queue_depth": known.queue_depth, "found": what})
        self._update_marker(force=True)

    def _replace_damaged(self, damage: str) -> None:
        """Move the damaged store aside, put a fresh one in its place, recover into it."""
        self._close_connection()
        log.error("record store %s is damaged (%s): moving it aside and recovering", self.path, damage)
        with self._guard("move the damaged store aside"):
            moved = recovery.move_aside(self.path)
        found = recovery.recover(moved)
        self._connect()
        self._store_id = str(uuid.uuid4())
        with self._transaction("write recovered records") as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (STORE_ID, json.dumps(self._store_id)))
            db.conn.executemany(
                "INSERT INTO records (id, state, scanned_epoch, subject_key, alert, committed_at, body, recovered,"
                " alert_sent_at, rejected_at, rejected_error) VALUES (?,?,?,?,?,?,?,1,?,?,?)",
                [(r["id"], r["state"], r["scanned_epoch"], r["subject_key"], r["alert"], r["committed_at"],
                  r["body"], r["alert_sent_at"], r["rejected_at"], r["rejected_error"]) for r in found.records])
            db.conn.executemany(
                "INSERT INTO abnormal_memory (subject_key, at) VALUES (?, ?) ON CONFLICT DO NOTHING", found.memory)
        self.meta_set(FAULT_META + "store_corrupt", {
            "at": time.time(), "moved_to": moved.name, "recovered": len(found.records), "problem": damage})
        log.error("record store %s: damaged store kept as %s, %d undelivered records recovered",
                  self.path, moved.name, len(found.records))
        self._depth = self.queue_depth()
        self._update_marker(force=True)

    def idle_check(self, now: float | None = None) -> list[str]:
        """Called from the kiosk's idle tick: checkpoint a grown WAL, and now and then quick_check.

        A store found damaged is replaced at once (moved aside, fresh store, records recovered);
        while that runs no scan can be recorded, so the gate stays shut. Returns `faults()`.
        `now` is a monotonic time (defaults to time.monotonic()).
        """
        mono = time.monotonic() if now is None else now
        with self._lock:
            if self._db is None:
                return self.faults()
            try:
                if self._commits_since_checkpoint >= IDLE_CHECKPOINT_COMMITS:
                    self.checkpoint()
                if mono - self._last_check >= IDLE_CHECK_EVERY_S:
                    damage = self._quick_check(fresh=True)
                    self._last_check = mono
                    if damage is not None:
                        with self._open_lock():
                            self._replace_damaged(damage)
            except StoreUnavailable as exc:
                if exc.fault == "store_corrupt" and self._db is not None:
                    with self._open_lock():
                        self._replace_damaged(str(exc))
                else:
                    self._failure = exc.fault
                    log.error("%s", exc)
            return self.faults()

    def checkpoint(self) -> int:
        """Copy the WAL into the main file now (PASSIVE: never waits for readers); frames left over."""
        with self._use("checkpoint") as db:
            busy, log_frames, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self._commits_since_checkpoint = 0
        return max(0, int(log_frames) - int(done))

    # -- what is wrong --

    def faults(self) -> list[str]:
        """The gate.faults codes of this store now: kept faults (store_corrupt, store_missing)
        until `clear_fault`, and store_full / store_read_only while writes fail so."""
        codes: set[str] = set()
        if self._failure is not None:
            codes.add(self._failure)
        if self._db is not None:
            with contextlib.suppress(StoreUnavailable):
                with self._use("read faults") as db:
                    rows = db.execute("SELECT key FROM meta WHERE key LIKE 'fault:%'").fetchall()
                codes.update(key[len(FAULT_META):] for (key,) in rows)
        return sorted(codes)

    def fault_details(self) -> dict[str, Any]:
        """What each kept fault recorded (when, moved to which file, how many recovered...)."""
        with self._use("read faults") as db:
            rows = db.execute("SELECT key, value FROM meta WHERE key LIKE 'fault:%'").fetchall()
        return {key[len(FAULT_META):]: json.loads(value) for key, value in rows}

    @property
    def recovered_count(self) -> int:
        """How many records were recovered from a damaged store into this one."""
        with self._use("count recovered") as db:
            return int(db.execute("SELECT count(*) FROM records WHERE recovered = 1").fetchone()[0])

    def clear_fault(self, code: str) -> None:
        """A technician has seen a kept fault (store_corrupt, store_missing): stop showing it."""
        self.meta_set(FAULT_META + code, None)

    # -- plumbing --

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except StoreUnavailable as exc:
            if str(exc).startswith("store "):
                raise
            raise StoreUnavailable(f"store {self.path}: {exc}", exc.fault) from exc
        except (sqlite3.Error, OSError) as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            fault = self._classify(exc)
            raise StoreUnavailable(f"store {self.path}: {action} failed: {detail}", fault) from exc

    def _classify(self, exc: BaseException) -> str:
        fault = classify(exc)
        if fault == "store_unavailable":
            # An I/O error on a card the kernel remounted read-only, or with no room left.
            with contextlib.suppress(OSError):
                st = os.statvfs(self.path.parent)
                if st.f_flag & os.ST_RDONLY:
                    return "store_read_only"
                if st.f_bavail * st.f_frsize < 2 * PAGE_SIZE * 8:
                    return "store_full"
        return fault

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
            try:
                if os.stat(self.path).st_ino != self._ino:
                    raise StoreUnavailable("the store file was removed or replaced; it will be opened again")
            except FileNotFoundError:
                raise StoreUnavailable("the store file was removed; it will be opened again") from None
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError, StoreUnavailable) as exc:
                if not isinstance(exc, sqlite3.IntegrityError):
                    self._failure = self._classify(exc) if not isinstance(exc, StoreUnavailable) else exc.fault
                    if self._failure not in ("store_full", "store_read_only"):
                        self._failure = None
                raise
            self._failure = None

    def _update_marker(self, force: bool = False) -> None:
        """Rewrite the marker when the queue depth crossed a threshold (or `force`)."""
        band = markers.depth_band(self._depth)
        if not force and band == self._marked_band:
            return
        try:
            markers.write_marker(self.path, markers.Marker(self._store_id, self._depth))
            self._marked_band = band
        except OSError as exc:  # the store itself is written; the marker is tried again later
            log.warning("store marker %s not written: %s", markers.marker_path(self.path), exc)

    # -- writing scans --

    def commit(
        self,
        record: Record,
        remember_abnormal: tuple[str, float] | None = None,
        forget_abnormal: str | None = None,
    ) -> None:
        """Write one scan durably, with the re-measure memory change in the same transaction.

        `remember_abnormal` = (subject_key, epoch time of the abnormal reading) sets the memory;
        `forget_abnormal` = subject_key clears it. Returns only once committed. A record whose
        id is already stored is refused (StoreUnavailable) and changes nothing.
        """
        row = _record_row(record)
        with self._transaction("commit") as db:
            self._refuse_known([record.id], db)
            db.execute(_INSERT_RECORD, row)
            if forget_abnormal is not None:
                db.execute("DELETE FROM abnormal_memory WHERE subject_key = ?", (forget_abnormal,))
            if remember_abnormal is not None:
                key, at = remember_abnormal
                # Written only when it changes: the same (key, at) again touches no page.
                db.execute(
                    "INSERT INTO abnormal_memory (subject_key, at) VALUES (?, ?)"
                    " ON CONFLICT(subject_key) DO UPDATE SET at = excluded.at WHERE at != excluded.at",
                    (key, float(at)),
                )
        self._depth += 1
        self._commits_since_checkpoint += 1
        self._update_marker()

    def commit_many(self, records: Iterable[Record]) -> int:
        """Write many records in one durable transaction (all or none); returns how many.

        For importing a backlog (another gate's records, a benchmark's month of scans): one
        fsync instead of one per record. Scans at the gate go through `commit`.
        """
        records = list(records)
        rows = [_record_row(record) for record in records]
        with self._transaction("commit") as db:
            self._refuse_known([r.id for r in records], db)
            db.conn.executemany(_INSERT_RECORD, rows)
        self._depth += len(rows)
        self._update_marker()
        return len(rows)

    @staticmethod
    def _refuse_known(ids: list[str], db: sqlite_utils.Database) -> None:
        if len(set(ids)) != len(ids):
            raise sqlite3.IntegrityError("a record id appears twice")
        for record_id in ids:
            if db.execute(f"SELECT 1 FROM records WHERE {_STATE_IN} AND id = ?", (record_id,)).fetchone():
                raise sqlite3.IntegrityError(f"record {record_id} is already stored")

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
        rows = self._records(f"SELECT body FROM records WHERE {_STATE_IN} AND id = ?", (record_id,))
        return rows[0] if rows else None

    def pending(self, limit: int) -> list[Record]:
        """Records still to upload (not delivered, not rejected), oldest first by id."""
        return self._records("SELECT body FROM records WHERE state = 0 ORDER BY id LIMIT ?", (int(limit),))

    def pending_json(self, limit: int) -> list[dict[str, Any]]:
        """As `pending`, as the RECORD objects to upload (what `Record.to_json` gives), cheaper."""
        with self._use("read records") as db:
            rows = db.execute("SELECT body FROM records WHERE state = 0 ORDER BY id LIMIT ?",
                              (int(limit),)).fetchall()
        return [decode_body(body) for (body,) in rows]

    def pending_alerts(self, limit: int) -> list[Record]:
        """Alert records not yet sent as an alert, not delivered, not rejected; oldest first."""
        return self._records(
            "SELECT body FROM records INDEXED BY records_alerts_pending"
            " WHERE alert = 1 AND alert_sent_at IS NULL AND state = 0 ORDER BY id LIMIT ?",
            (int(limit),),
        )

    def records_of_subject(self, subject_key: str, limit: int) -> list[Record]:
        """This subject's records (key "iss:sub_hex"), newest first.

        Reads the whole table: only a technician asks, and an index cost a page per scan.
        """
        return self._records(
            "SELECT body FROM records WHERE subject_key = ? ORDER BY id DESC LIMIT ?",
            (subject_key, int(limit)),
        )

    def rejected(self) -> list[tuple[Record, str]]:
        """Records the collector rejected, oldest first, each with the collector's error."""
        with self._use("read rejected") as db:
            rows = db.execute(
                "SELECT body, rejected_error FROM records WHERE state = 2 ORDER BY id"
            ).fetchall()
        return [(Record.from_json(decode_body(body), validate=False), error) for body, error in rows]

    def queue_depth(self) -> int:
        """How many records wait for upload (not delivered, not rejected)."""
        with self._use("count queue") as db:
            return int(db.execute("SELECT count(*) FROM records WHERE state = 0").fetchone()[0])

    def oldest_pending_scanned_at(self) -> str | None:
        """scanned_at of the oldest record waiting for upload, or None when the queue is empty."""
        with self._use("read queue") as db:
            row = db.execute("SELECT body FROM records WHERE state = 0 ORDER BY id LIMIT 1").fetchone()
        return None if row is None else str(decode_body(row[0])["scanned_at"])

    def rejected_count(self) -> int:
        """How many records the collector rejected (kept for a technician)."""
        with self._use("count rejected") as db:
            return int(db.execute("SELECT count(*) FROM records WHERE state = 2").fetchone()[0])

    def last_scanned_at(self) -> str | None:
        """scanned_at of the newest record held, or None when the store is empty."""
        with self._use("read records") as db:
            row = db.execute("SELECT body FROM records ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else str(decode_body(row[0])["scanned_at"])

    def count(self) -> int:
        """How many records the store holds, delivered or not."""
        with self._use("count records") as db:
            return int(db.execute("SELECT count(*) FROM records").fetchone()[0])

    def _records(self, sql: str, params: tuple[Any, ...]) -> list[Record]:
        with self._use("read records") as db:
            rows = db.execute(sql, params).fetchall()
        return [Record.from_json(decode_body(body), validate=False) for (body,) in rows]

    # -- what sync learned --

    def mark_delivered(self, ids: Iterable[str], now: float | None = None) -> int:
        """Mark records the collector named (accepted or duplicate) as delivered; return how many changed."""
        return self._mark(
            f"UPDATE records SET state = {DELIVERED}, delivered_at = ? WHERE state = {PENDING} AND id = ?",
            ids, now, queue_changes=True,
        )

    def mark_alert_sent(self, ids: Iterable[str], now: float | None = None) -> int:
        """Mark alert records as sent to /v1/alerts (they stay queued for a normal batch)."""
        return self._mark(
            f"UPDATE records SET alert_sent_at = ? WHERE {_STATE_IN} AND id = ? AND alert_sent_at IS NULL",
            ids, now, queue_changes=False,
        )

    def mark_rejected(self, errors: Mapping[str, str], now: float | None = None) -> int:
        """Mark records the collector rejected, keeping its error; they are never resent nor deleted."""
        at = time.time() if now is None else now
        with self._transaction("mark rejected") as db:
            n = db.conn.executemany(
                f"UPDATE records SET state = {REJECTED}, rejected_at = ?, rejected_error = ?"
                f" WHERE state = {PENDING} AND id = ?",
                [(at, str(error), record_id) for record_id, error in errors.items()],
            ).rowcount
        self._recount()
        return n

    def _mark(self, sql: str, ids: Iterable[str], now: float | None, queue_changes: bool) -> int:
        at = time.time() if now is None else now
        with self._transaction("mark records") as db:
            n = db.conn.executemany(sql, [(at, record_id) for record_id in ids]).rowcount
        if queue_changes:
            self._recount()
        return n

    def _recount(self) -> None:
        self._depth = self.queue_depth()
        self._update_marker()

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
        # The WAL may hold already-checkpointable frames: give those back first.
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
                    "DELETE FROM records WHERE n IN (SELECT n FROM records"
                    f" WHERE state = {DELIVERED} AND {where} ORDER BY scanned_epoch LIMIT ?)",
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

    def _close_connection(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.conn.close()

    def close(self) -> None:
        """Close the file; safe to call twice."""
        self._close_connection()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
