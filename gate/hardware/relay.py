"""The relay that releases the gate's lock or turnstile.

Wiring: a 1-channel relay board: VCC to 5V (pin 2), GND to a ground pin, IN to the GPIO named
by `io.relay_pin` (BCM numbering). Most boards energise the relay when IN is pulled low
(`relay_active_high = false`, the default); boards that switch on a high input need `true`.
Wire the lock so that an unpowered relay keeps the gate shut (fail secure), and wire the fire
panel's release contact to the lock directly as well: software cannot be the only way out.

The relay is energised only for a pulse (`pulse()`, on an allow or a recorded override) or
while the fire-release input holds it open (`hold_open()`). Pulses are timed on a monotonic
clock; a second pulse while one is running extends it. It is off at start, after `cancel()`,
and after `close()`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable


class Relay:
    """The gate relay on one GPIO pin, or nothing when `pin` is None (not fitted).

    `clock` is the monotonic clock pulses are measured on. With `timer=True` a background
    thread ends each pulse on time; with `timer=False` (tests with a fake clock) the pulse
    ends when `update()` is called after its deadline.
    """

    def __init__(
        self,
        pin: int | None,
        *,
        active_high: bool = False,
        pulse_s: float = 3.0,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        self.pin = pin
        self.pulse_s = pulse_s
        self._clock = clock
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._held = False
        self._closed = False
        self._timer_wanted = timer
        self._thread: threading.Thread | None = None
        self._device = None
        if pin is not None:
            from gpiozero import OutputDevice

            self._device = OutputDevice(
                pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
            )

    # -- state ------------------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        return self._device is not None

    @property
    def is_open(self) -> bool:
        """True while the relay is energised (the gate released)."""
        with self._cond:
            return self._should_be_open()

    @property
    def held(self) -> bool:
        """True while the fire release holds the relay open."""
        return self._held

    @property
    def deadline(self) -> float | None:
        """When the running pulse ends, on the relay's clock; None when no pulse runs."""
        return self._deadline

    def _should_be_open(self) -> bool:
        if self._closed:
            return False
        return self._held or (self._deadline is not None and self._clock() < self._deadline)

    def _apply(self) -> None:
        if self._deadline is not None and self._clock() >= self._deadline:
            self._deadline = None
        if self._device is None or self._closed:
            return
        want = self._should_be_open()
        if bool(self._device.value) != want:
            self._device.value = want

    # -- verbs ------------------------------------------------------------------------------

    def pulse(self, seconds: float | None = None) -> bool:
        """Open for `seconds` (default `pulse_s`) from now, extending a running pulse.

        Returns True when a relay is fitted and now open, False otherwise.
        """
        with self._cond:
            if self._closed:
                return False
            end = self._clock() + (self.pulse_s if seconds is None else seconds)
            if self._deadline is None or end > self._deadline:
                self._deadline = end
            self._apply()
            self._start_timer()
            self._cond.notify_all()
            return self._device is not None and bool(self._device.value)

    def update(self) -> bool:
        """End the pulse if its time is up; returns whether the relay is open."""
        with self._cond:
            self._apply()
            return self._should_be_open()

    def cancel(self) -> None:
        """End any pulse now (the fire release, if asserted, still holds the relay open)."""
        with self._cond:
            self._deadline = None
            self._apply()
            self._cond.notify_all()

    def hold_open(self) -> None:
        """Keep the relay open until `release_hold()` (the fire-release input)."""
        with self._cond:
            self._held = True
            self._apply()

    def release_hold(self) -> None:
        with self._cond:
            self._held = False
            self._apply()

    def close(self) -> None:
        """Relay off, timer stopped, pin released; safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._deadline = None
            self._held = False
            if self._device is not None:
                self._device.off()
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        if self._device is not None:
            self._device.close()

    # -- the pulse timer --------------------------------------------------------------------

    def _start_timer(self) -> None:
        if self._timer_wanted and self._thread is None:
            self._thread = threading.Thread(target=self._run_timer, name="gate-relay-timer", daemon=True)
            self._thread.start()

    def _run_timer(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - self._clock()
                if remaining <= 0:
                    self._apply()
                    continue
                self._cond.wait(remaining)
