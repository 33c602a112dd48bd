"""The upload queue of the record store: scans committed durably, read oldest first, marked as
the collector answers (delivered, rejected, sent as an alert). Nothing undelivered is deleted."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from gate.record import Record, parse_iso_utc
from gate.store.connection import StoreConnection
from gate.store.errors import StoreUnavailable
from gate.store.schema import DELIVERED, PENDING, REJECTED, decode_body, encode_body

_STATE_IN = "state IN (0, 1, 2)"  # lets a look-up by id use records_queue (state, id)
_INSERT_RECORD = (
    "INSERT INTO records (id, state, scanned_epoch, subject_key, alert, committed_at, body)"
    " VALUES (?, 0, ?, ?, ?, ?, ?)"
)


def _record_row(record: Record) -> tuple[Any, ...]:
    """The `records` row of one scan: the few indexed columns and the RECORD JSON compressed."""
    return (record.id, parse_iso_utc(record.scanned_at), record.subject_key, 1 if record.alert else 0,
            time.time(), encode_body(record.to_json()))



class RecordQueue(StoreConnection):
    """The store's records: `commit` before the relay moves, the queue sync reads and marks."""

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
