"""The backoff between rounds: when the next round may start after one that stopped.

upload.md: rounds that stop back off exponentially with full jitter (base 2 s, cap 300 s),
honouring Retry-After up to 3600 s. The exponent (`failures`) grows only on rounds that
delivered nothing; a round that moved records forward resets it, so a flaky link that still
delivers is retried within seconds, not minutes. The schedule is kept on a monotonic clock and
written to the store's meta, so a new process waits out what is left of it (clamped, so that a
step of the wall clock cannot stretch it).
"""

from __future__ import annotations

import logging
import random as random_module
import time
from typing import Callable

from gate.store import Store, StoreUnavailable
from gate.sync.errors import Stop
from gate.state.syncmeta import META_BACKOFF, META_PROBLEM

log = logging.getLogger("gate.sync")

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
# A Retry-After is honoured, but a collector asking for days of silence is not believed.
RETRY_AFTER_MAX_S = 3600.0


def backoff_delay(failures: int, random: Callable[[], float] = random_module.random,
                  base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(failures-1))]."""
    exponent = max(0, failures - 1)
    ceiling = cap_s if exponent >= 30 else min(cap_s, base_s * (2 ** exponent))
    return random() * ceiling


class Backoff:
    """The schedule of rounds for one gate; `clock` is wall time, `monotonic` schedules."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 random: Callable[[], float] = random_module.random) -> None:
        self.store = store
        self._clock = clock
        self._monotonic = monotonic
        self._random = random
        saved = store.meta_get(META_BACKOFF) or {}
        self.failures = int(saved.get("failures", 0)) if isinstance(saved, dict) else 0
        self._not_before = monotonic()
        if isinstance(saved, dict) and saved:
            delay = float(saved.get("delay_s", 0.0))
            left = min(max(0.0, float(saved.get("until", 0.0)) - clock()), delay)
            self._not_before += left

    def due_in(self) -> float:
        """Seconds until the next round may start (0 when it may start now)."""
        return max(0.0, self._not_before - self._monotonic())

    def stopped(self, stop: Stop, *, moved: bool) -> float:
        """A round stopped on `stop`; `moved`: it delivered (or settled) records. The delay."""
        self.failures = 0 if moved else self.failures + 1
        delay = backoff_delay(max(1, self.failures), self._random)
        if stop.retry_after is not None:
            delay = max(delay, min(stop.retry_after, RETRY_AFTER_MAX_S))
        self._not_before = self._monotonic() + delay
        try:
            self.store.meta_set(META_BACKOFF, {"failures": self.failures, "delay_s": delay,
                                               "until": self._clock() + delay, "error": str(stop)})
            if stop.kind == "auth":
                self.store.meta_set(META_PROBLEM, {"at": self._clock(), "status": stop.status,
                                                   "error": stop.code, "message": str(stop)})
        except StoreUnavailable as exc:
            log.warning("could not record the sync failure: %s", exc)
        return delay

    def completed(self) -> None:
        """A round ran to its end: the next may start at once; a recorded refusal is cleared."""
        self.failures = 0
        self._not_before = self._monotonic()
        if self.store.meta_get(META_BACKOFF) is not None:
            self.store.meta_set(META_BACKOFF, None)
        if self.store.meta_get(META_PROBLEM) is not None:
            self.store.meta_set(META_PROBLEM, None)
