"""The gate's record store: durable scans, the upload queue, and surviving a failing SD card.

`Store` (db.py) is the store, made of three rooms: connection.py (opening, checking, the guard,
kept faults, small durable values), queue.py (commit, the upload queue and its marks) and
retention.py (deleting delivered records); `StoreUnavailable` (errors.py) its one failure, whose
`fault` is a gate.faults code; schema.py the schema and its migrations; recovery.py what happens
to a damaged store; marker.py what the gate remembers about its store outside it.
"""

from gate.store.connection import (BUSY_TIMEOUT_MS, IDLE_CHECK_EVERY_S, JOURNAL_SIZE_LIMIT, WAL_AUTOCHECKPOINT,
                                   WAL_BOUND_BYTES, check_integrity, kept_faults)
from gate.store.db import Store
from gate.store.retention import FREE_SPACE_BATCH, FREE_SPACE_FLAG, PRUNE_BATCH
from gate.store.errors import StoreUnavailable
from gate.store.schema import MIGRATIONS, apply_migrations, schema_version

__all__ = [
    "BUSY_TIMEOUT_MS", "FREE_SPACE_BATCH", "FREE_SPACE_FLAG", "IDLE_CHECK_EVERY_S", "JOURNAL_SIZE_LIMIT",
    "MIGRATIONS", "PRUNE_BATCH", "WAL_AUTOCHECKPOINT", "WAL_BOUND_BYTES", "Store", "StoreUnavailable", "apply_migrations",
    "check_integrity", "kept_faults", "schema_version",
]
