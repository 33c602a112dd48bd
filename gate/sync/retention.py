"""Retention after a round: old delivered records go, and the oldest first when the disk fills."""

from __future__ import annotations

import logging

from gate.store import Store, StoreUnavailable

log = logging.getLogger("gate.sync")

MIN_FREE_BYTES = 64 * 1024 * 1024


def apply_retention(store: Store, retention_days: int, now: float,
                    min_free_bytes: int = MIN_FREE_BYTES) -> int:
    """Delete delivered records older than `retention_days`, then the oldest delivered ones while
    less than `min_free_bytes` is free (the store sets the flag the health check reads).
    Undelivered and rejected records are never deleted. How many went; 0 when the store failed."""
    try:
        pruned = store.prune(retention_days, now)
        if store.free_bytes() < min_free_bytes:
            deleted = store.free_space_prune(min_free_bytes, now)
            if deleted:
                log.warning("disk nearly full: deleted the %d oldest delivered records", deleted)
            pruned += deleted
        return pruned
    except StoreUnavailable as exc:
        log.warning("retention skipped: %s", exc)
        return 0
