"""Service mode (spec/setup.md "Service mode"): the technician has taken the gate out of service.

While it is on the kiosk decides no scan (a person's code makes no record and moves no relay),
the screen and the heartbeat say so (the fault `in_service_mode`), and the setup page's tests and
thermometer are always allowed. A venue card is still read and the fire release still opens the
gate: neither goes through here.

It is a lease: the setup service turns it on for `lease_s` seconds and renews it on each action
of the technician's; if nothing renews it (the technician left, the setup service died) it ends
on its own when the lease runs out. The kiosk checks `expired()` between frames.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

LEASE_S = 15 * 60  # spec/setup.md: 15 minutes without an action of the technician's
MAX_LEASE_S = LEASE_S  # a lease asked for is never longer than the spec's 15 minutes


@dataclass(frozen=True)
class ServiceState:
    """Service mode as of one moment: on or off, the lease's time left, why it last ended."""

    on: bool
    left_s: float | None
    ended: str | None

    def to_json(self) -> dict[str, Any]:
        return {"on": self.on, "left_s": None if self.left_s is None else round(self.left_s, 1),
                "ended": self.ended}


class ServiceMode:
    """The lease of service mode in one kiosk; safe to use from the control channel's threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until: float | None = None
        self._ended: str | None = None

    @property
    def on(self) -> bool:
        with self._lock:
            return self._until is not None

    def start(self, lease_s: float = LEASE_S) -> bool:
        """Turn it on (or renew it) for `lease_s` seconds from now; True when it was off."""
        lease = min(max(float(lease_s), 1.0), MAX_LEASE_S)
        with self._lock:
            was_off = self._until is None
            self._until = self._clock() + lease
            self._ended = None
            return was_off

    def end(self, why: str) -> bool:
        """Turn it off, saying why; True when it was on."""
        with self._lock:
            if self._until is None:
                return False
            self._until = None
            self._ended = why
            return True

    def expired(self) -> bool:
        """End it when its lease ran out; True once, when that happened now."""
        with self._lock:
            if self._until is None or self._clock() < self._until:
                return False
            self._until = None
            self._ended = "its time ran out: no action of the technician's"
            return True

    def state(self) -> ServiceState:
        with self._lock:
            left = None if self._until is None else max(0.0, self._until - self._clock())
            return ServiceState(self._until is not None, left, self._ended)
