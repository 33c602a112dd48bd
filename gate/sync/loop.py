"""The forever loop beside the kiosk: a round whenever there is something to do.

A round starts when records or alerts wait, when the lists are due, or when no round ran for
`HEARTBEAT_INTERVAL_S` (so that the collector, which calls a gate online after a heartbeat
within 10 minutes, sees an idle gate too). A round that ends with records still queued is
followed at once by the next; a round that stopped waits out its backoff. Between rounds the
queue is looked at every `poll_s`. `monotonic` and `sleep` are injectable, so tests drive the
loop without waiting.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol

from gate.store import Store, StoreUnavailable
from gate.sync.result import RoundResult


class _Due(Protocol):
    def due(self) -> bool: ...


class Rounds(Protocol):
    """What the loop needs of a syncer (gate.sync.syncer.Syncer): when it may run, whether work
    waits, and one round."""

    store: Store
    lists: _Due

    def due_in(self) -> float: ...

    def work_waiting(self) -> bool: ...

    def round(self, *, stop: Callable[[], bool] | None = None,
              progress: Callable[[int], Any] | None = None) -> RoundResult: ...

HEARTBEAT_INTERVAL_S = 240.0
POLL_S = 2.0


def run_forever(
    syncer: Rounds,
    stop: Callable[[], bool],
    *,
    poll_s: float = POLL_S,
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
    on_round: Callable[[RoundResult], None] | None = None,
    progress_for: Callable[[int], Any] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Rounds until `stop()` is true. `progress_for(backlog)` may return a context manager whose
    `update(n)` shows progress (a progress bar on a terminal), or None."""
    last_round_at: float | None = None
    while not stop():
        wait = syncer.due_in()
        if wait <= 0:
            quiet_for = None if last_round_at is None else monotonic() - last_round_at
            if (syncer.work_waiting() or syncer.lists.due() or quiet_for is None
                    or quiet_for >= heartbeat_interval_s):
                result = _round(syncer, stop, progress_for)
                last_round_at = monotonic()
                if on_round:
                    on_round(result)
                if result.ok and result.remaining > 0 and not stop():
                    continue  # more arrived meanwhile: go on at once
                wait = syncer.due_in()
        _idle(wait if wait > 0 else poll_s, stop, monotonic, sleep)


def _round(syncer: Rounds, stop: Callable[[], bool],
           progress_for: Callable[[int], Any] | None) -> RoundResult:
    bar = None
    if progress_for is not None:
        try:
            bar = progress_for(syncer.store.queue_depth())
        except StoreUnavailable:  # a progress bar is never worth a round
            bar = None
    if bar is None:
        return syncer.round(stop=stop)
    with bar:
        return syncer.round(stop=stop, progress=bar.update)


def _idle(seconds: float, stop: Callable[[], bool], monotonic: Callable[[], float],
          sleep: Callable[[float], None]) -> None:
    """Wait `seconds` on the monotonic clock, in short sleeps so that a stop is seen soon."""
    end = monotonic() + seconds
    while not stop():
        left = end - monotonic()
        if left <= 0:
            return
        sleep(min(left, 0.5))
