"""Retries inside a round: a transient failure is tried twice more before the round gives up.

upload.md: 429, 5xx, timeouts, refused connections and resets are transient. The same request
is tried up to twice more in the same round, after a pause with full jitter in [0, 2 s], or the
collector's Retry-After when it is 5 s or less (a longer Retry-After ends the round at once and
is honoured by the backoff between rounds, `gate.sync.backoff`).
"""

from __future__ import annotations

import logging
import random as random_module
import time
from typing import Callable, TypeVar

from gate.sync.errors import Stop

log = logging.getLogger("gate.sync")

TRIES = 3
PAUSE_S = 2.0
RETRY_AFTER_IN_ROUND_MAX_S = 5.0

T = TypeVar("T")


class Retrier:
    """Runs one request with the in-round retries; `sleep` and `random` are injectable."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep,
                 random: Callable[[], float] = random_module.random, tries: int = TRIES) -> None:
        self._sleep = sleep
        self._random = random
        self.tries = tries
        self.retries = 0  # requests sent again, over the life of this Retrier

    def pause_for(self, stop: Stop) -> float | None:
        """Seconds to pause before trying again after `stop`, or None: do not try again."""
        if not stop.transient:
            return None
        if stop.retry_after is not None:
            return stop.retry_after if stop.retry_after <= RETRY_AFTER_IN_ROUND_MAX_S else None
        return self._random() * PAUSE_S

    def __call__(self, send: Callable[[], T], *, tries: int | None = None) -> T:
        """`send()`'s result; its last Stop once the tries are spent or a retry is not due."""
        tries = self.tries if tries is None else tries
        attempt = 1
        while True:
            try:
                return send()
            except Stop as stop:
                pause = self.pause_for(stop)
                if pause is None or attempt >= tries:
                    raise
                log.info("%s; trying again in %.1f s (%d of %d)", stop, pause, attempt + 1, tries)
                self._sleep(pause)
                self.retries += 1
                attempt += 1
