"""Sync: the gate's side of spec/upload.md, in parts that each do one thing.

- `client`: signed requests with a total deadline and a size cap on every answer;
- `deadline`: the watchdog that shuts a request's socket when its time is up;
- `retry`: a transient failure tried twice more inside the round;
- `backoff`: when the next round may start after one that stopped;
- `lists`: trust list, status list and bulletin, when due;
- `uploader`: every pending alert first, then batches oldest first;
- `heartbeat`: the gate's health, at the end of every round (its faults: gate.state.faults_now);
- `retention`: old delivered records go;
- `settings`: what a Syncer is told, from the configuration; `syncer`: the parts put together, one round; `loop`: rounds forever beside the kiosk;
- what sync keeps in the store's meta, and `sync_health` for the doctor: gate.state.syncmeta.
"""

from gate.sync.backoff import BACKOFF_BASE_S, BACKOFF_CAP_S, RETRY_AFTER_MAX_S, Backoff, backoff_delay
from gate.sync.client import ANSWER_CAP, LIST_CAP, Answer, SignedClient, parse_retry_after
from gate.sync.errors import Stop, SyncSetupError
from gate.sync.heartbeat import Heartbeat
from gate.sync.lists import LISTS_INTERVAL_S, ListFetcher
from gate.sync.result import RoundResult
from gate.sync.retention import MIN_FREE_BYTES, apply_retention
from gate.sync.retry import Retrier
from gate.state.syncmeta import (
    META_BACKOFF, META_CLOCK_OFFSET, META_HEARTBEAT, META_LAST_SUCCESS, META_PROBLEM, META_TRUST_ETAG,
    sync_health,
)
from gate.sync.settings import SyncSettings
from gate.sync.syncer import Syncer
from gate.sync.uploader import GZIP_LEVEL, TOO_LARGE_ERROR, Uploader

__all__ = [
    "ANSWER_CAP", "Answer", "BACKOFF_BASE_S", "BACKOFF_CAP_S", "Backoff", "GZIP_LEVEL", "Heartbeat",
    "LISTS_INTERVAL_S", "LIST_CAP", "ListFetcher", "META_BACKOFF", "META_CLOCK_OFFSET", "META_HEARTBEAT",
    "META_LAST_SUCCESS", "META_PROBLEM", "META_TRUST_ETAG", "MIN_FREE_BYTES", "RETRY_AFTER_MAX_S",
    "Retrier", "RoundResult", "SignedClient", "Stop", "SyncSettings", "SyncSetupError", "Syncer",
    "TOO_LARGE_ERROR", "Uploader", "apply_retention", "backoff_delay",
    "parse_retry_after", "sync_health",
]
