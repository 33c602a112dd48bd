"""The record store as the decision path holds it: open, or shut with the reason why, and opened
again now and then (a card put back, room made, a damaged file recovered at the next open)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from gate.faults import fault
from gate.store.db import Store
from gate.store.errors import StoreUnavailable

log = logging.getLogger("gate.pipeline")

STORE_RETRY_S = 5.0  # how often a store that failed to open is tried again


class StoreHolder:
    """One gate's record store at `path`: `store` while it is open, else None with `failure`.

    Not locked: its owner (the pipeline) calls it under its own lock.
    """

    def __init__(self, store: Store | None, path: Path | None) -> None:
        self.store = store
        self.path = path if path is not None else (store.path if store is not None else None)
        self.failure: StoreUnavailable | None = None  # why the store is shut, while it is
        self._tried_at = time.monotonic()

    def get(self) -> Store:
        """The record store; one that could not be opened is tried again now and then."""
        if self.store is None:
            now = time.monotonic()
            if self.path is None or now - self._tried_at < STORE_RETRY_S:
                last = self.failure
                raise StoreUnavailable(str(last) if last else "the record store could not be opened",
                                       last.fault if last else "store_unavailable")
            self._tried_at = now
            try:
                self.store = Store(self.path)
            except StoreUnavailable as exc:
                self.failure = exc
                raise
            self.failure = None
            log.warning("record store %s opened again", self.path)
        return self.store

    def failed(self, exc: StoreUnavailable) -> None:
        """A write failed: a full card keeps its store (room may come back); anything else
        (read-only, damaged, removed) closes it, to be opened, checked and recovered again."""
        self.failure = exc
        if exc.fault != "store_full" and self.store is not None:
            self.store.close()
            self.store = None
            self._tried_at = time.monotonic()

    def faults(self) -> list[str]:
        """The store's gate.faults codes now (store_read_only, store_full, store_corrupt, ...)."""
        if self.store is None:  # shut until it opens again: say so, and why when it is known
            code = self.failure.fault if self.failure is not None else "store_unavailable"
            return [code] if fault(code).shuts_gate else sorted({code, "store_unavailable"})
        try:
            return self.store.faults()
        except StoreUnavailable as exc:
            return [exc.fault]

    def idle(self) -> list[str]:
        """Between scans: retry a shut store, check an open one; its faults now."""
        try:
            store = self.get()
        except StoreUnavailable:
            return self.faults()
        try:
            store.idle_check()
        except StoreUnavailable as exc:
            self.failed(exc)
        return self.faults()

    def recovered(self) -> int:
        """Records recovered from a damaged store while its fault is kept (0: none), from the
        store's own note of the recovery (no count over the records)."""
        if self.store is None:
            return 0
        try:
            details = self.store.fault_details().get("store_corrupt") or {}
        except StoreUnavailable:
            return 0
        recovered = details.get("recovered") if isinstance(details, dict) else None
        return recovered if isinstance(recovered, int) else 0

    def close(self) -> None:
        """Close the store if open; safe to call twice."""
        if self.store is not None:
            self.store.close()
