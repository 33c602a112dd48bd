"""The record store's connection and guard: opening (with the lock between processes), checking
and recovering a damaged file, the faults it keeps, the WAL's bounds, small durable values, and the
one guard that turns every SQLite or OS failure into a one-line `StoreUnavailable`.

The queue of records (queue.py) and retention (retention.py) are built on this; `Store` (db.py)
is all three. `check_integrity` and `kept_faults` read a store file for the doctor and the
heartbeat without opening it for writing.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from gate.store import marker as markers
from gate.store import recovery
from gate.store.errors import StoreUnavailable, classify
from gate.store.schema import PAGE_SIZE, apply_migrations, schema_version

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
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


def disk_full(exc: BaseException) -> bool:
    """True for the failure of a full disk (store_full)."""
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


class StoreConnection:
    """One store file, opened, checked and guarded (made, with its folder, if missing).

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
