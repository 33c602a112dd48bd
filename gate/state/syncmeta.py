"""What sync keeps in the record store's meta table, and what the health check reads of it."""

from __future__ import annotations

from typing import Any

from gate.store import Store

META_BACKOFF = "sync.backoff"  # {"failures", "delay_s", "until" (epoch), "error"}
META_PROBLEM = "sync.problem"  # {"at", "status", "error", "message"}: 401/403, for the doctor
META_CLOCK_OFFSET = "sync.clock_offset_s"  # collector clock minus gate clock, for signing
META_LAST_SUCCESS = "sync.last_success"  # {"at", "uploaded", "duplicates", "rejected", ...}
META_TRUST_ETAG = "sync.trust_etag"  # {"etag", "version"} of the trust list in force
META_HEARTBEAT = "sync.heartbeat"  # {"at": epoch} of the last heartbeat the collector took


def sync_health(store: Store) -> dict[str, Any]:
    """What the health check shows about sync, from the store alone (no network).

    Keys: `problem` (a 401/403 recorded until a later round succeeds, else None), `failures`
    (rounds in a row that stopped without delivering anything), `last_error`,
    `next_attempt_at` (epoch), `last_success` (epoch of the last good round, or None),
    `queue_depth`, `oldest_pending_scanned_at`, `free_space_pruned` (the store's flag),
    `clock_offset_s`, `last_heartbeat_at` (epoch, or None).
    """
    backoff = store.meta_get(META_BACKOFF) or {}
    last = store.meta_get(META_LAST_SUCCESS) or {}
    heartbeat = store.meta_get(META_HEARTBEAT) or {}
    return {
        "problem": store.meta_get(META_PROBLEM),
        "failures": int(backoff.get("failures", 0)) if isinstance(backoff, dict) else 0,
        "last_error": backoff.get("error") if isinstance(backoff, dict) else None,
        "next_attempt_at": backoff.get("until") if isinstance(backoff, dict) else None,
        "last_success": last.get("at") if isinstance(last, dict) else None,
        "queue_depth": store.queue_depth(),
        "oldest_pending_scanned_at": store.oldest_pending_scanned_at(),
        "free_space_pruned": store.free_space_pruned(),
        "clock_offset_s": float(store.meta_get(META_CLOCK_OFFSET, 0.0) or 0.0),
        "last_heartbeat_at": heartbeat.get("at") if isinstance(heartbeat, dict) else None,
    }
