"""Retention in the record store: delivered records go after their days are up, or early when the
disk fills; undelivered records never do."""

from __future__ import annotations

import os
from typing import Any

from gate.store.connection import StoreConnection, disk_full
from gate.store.errors import StoreUnavailable
from gate.store.schema import DELIVERED

PRUNE_BATCH = 1000
FREE_SPACE_BATCH = 200
FREE_SPACE_FLAG = "free_space_pruned"


class Retention(StoreConnection):
    """Deleting delivered records: by age (`prune`) and to make room (`free_space_prune`)."""

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
                if batch > 1 and disk_full(exc):
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
