"""The setup service's side of service mode (spec/setup.md "Service mode").

The kiosk holds service mode as a lease (gate.kiosk.service_mode) and ends it on its own when the
lease runs out. This side turns it on and off for the technician, renews the lease on each of the
technician's own actions (a POST, or a GET the technician asked for: never the page's timed
polling), ends it when the technician signs out or the service stops, and writes start and end
into the change log. Its timer ends it, with a change-log entry, when 15 minutes pass without an
action of the technician's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from gate.control import KioskClient, KioskUnavailable
from gate.kiosk.service_mode import LEASE_S

log = logging.getLogger("gate.setup")

KEY = "service_mode"  # the change log's key for its start and end
TIMED_OUT = "15 minutes without an action of the technician's"

# (key, before, after, address, why) -> a change-log entry
Record = Callable[[str, Any, Any, str, str], None]


class ServiceLease:
    """Service mode as the setup service runs it: on/off, renewals, its own end in time."""

    def __init__(self, kiosk: KioskClient, record: Record, *, lease_s: float = LEASE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kiosk = kiosk
        self.record = record
        self.lease_s = float(lease_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._until: float | None = None  # when it ends without another action (this side's clock)
        self._address = ""
        self._wake = threading.Condition(self._lock)
        self._stopped = False
        self._timer: threading.Thread | None = None

    @property
    def on(self) -> bool:
        with self._lock:
            return self._until is not None

    def turn_on(self, address: str) -> dict[str, Any]:
        """Take the gate out of service (KioskUnavailable, Busy from the kiosk); the kiosk's state."""
        state = self.kiosk.service(True, lease_s=self.lease_s)
        with self._lock:
            was_on = self._until is not None
            self._until = self._clock() + self.lease_s
            self._address = address
            self._start_timer()
            self._wake.notify_all()
        if not was_on:
            self.record(KEY, False, True, address, "turned on from the setup page")
            log.warning("setup page: service mode on from %s", address)
        return state

    def turn_off(self, address: str, why: str) -> dict[str, Any] | None:
        """Put the gate back in service; the kiosk's state (None when no kiosk answers)."""
        with self._lock:
            was_on = self._until is not None
            self._until = None
            self._wake.notify_all()
        state = None
        try:
            state = self.kiosk.service(False, why=why)
        except KioskUnavailable as exc:
            log.warning("service mode: the kiosk did not hear the end (%s); its lease ends on its own", exc)
        if was_on:
            self.record(KEY, True, False, address, why)
            log.warning("setup page: service mode off (%s)", why)
        return state

    def touch(self, address: str) -> None:
        """An action of the technician's: renew the lease while service mode is on."""
        with self._lock:
            if self._until is None:
                return
        try:
            state = self.kiosk.service(True, lease_s=self.lease_s)
        except KioskUnavailable:
            return  # the kiosk's own lease ends it in time; the timer here records it
        if not state.get("on"):  # cannot happen for a running kiosk; trust what it says
            self._ended_by_kiosk(address, "the kiosk is not in service mode")
            return
        with self._lock:
            if self._until is not None:
                self._until = self._clock() + self.lease_s
                self._wake.notify_all()

    def seen(self, kiosk_state: dict[str, Any] | None) -> None:
        """The kiosk's service state as last read: a kiosk that ended it (restarted) ends it here."""
        if kiosk_state is not None and not kiosk_state.get("on") and self.on:
            self._ended_by_kiosk(self._address, kiosk_state.get("ended") or "the kiosk restarted")

    def stop(self) -> None:
        """The setup service stops: service mode ends with it, the timer returns."""
        if self.on:
            self.turn_off(self._address, "the setup service stopped")
        with self._lock:
            self._stopped = True
            self._wake.notify_all()
        if self._timer is not None:
            self._timer.join(5)

    # -- internals ------------------------------------------------------------------------

    def _ended_by_kiosk(self, address: str, why: str) -> None:
        with self._lock:
            was_on = self._until is not None
            self._until = None
        if was_on:
            self.record(KEY, True, False, address, why)

    def _start_timer(self) -> None:
        # caller holds self._lock
        if self._timer is None or not self._timer.is_alive():
            self._timer = threading.Thread(target=self._run, name="setup-service-mode", daemon=True)
            self._timer.start()

    def _run(self) -> None:
        with self._lock:
            while not self._stopped and self._until is not None:
                left = self._until - self._clock()
                if left > 0:
                    self._wake.wait(left)
                    continue
                address = self._address
                self._lock.release()
                try:
                    self.turn_off(address, TIMED_OUT)
                finally:
                    self._lock.acquire()
