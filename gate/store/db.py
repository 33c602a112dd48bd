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

from gate.store.queue import RecordQueue
from gate.store.retention import Retention


class Store(RecordQueue, Retention):
    """The record store at `path` (made, with its folder, if missing): connection and guard
    (connection.py), queue (queue.py) and retention (retention.py) in one object.

    Safe to share between threads of one process; the kiosk and `gate sync` may each open the
    same file (WAL lets one write while the other reads; writers wait up to the busy timeout).
    Opening checks the file (quick_check) and, when it is damaged, moves it aside and recovers
    its undelivered records into a fresh store before returning; `faults()` then says so.
    """
