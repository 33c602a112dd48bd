"""The gate's two inputs: the attendant's override button and the fire-alarm release.

Wiring, both: between the GPIO (BCM number from `[io]`) and a ground pin; the Pi's internal
pull-up holds the pin high, and closing the contact pulls it low, which is "pressed" /
"asserted".

- Override button (`io.override_button_pin`): a momentary push button at the attendant's
  post. One press lets the person in front of the gate through once; the kiosk records it as
  an override of the decision shown.
- Fire release (`io.fire_release_pin`): a volt-free contact from the fire-alarm panel that
  closes when the alarm sounds (use an opto-isolated input board if the panel's contact is
  not volt-free). While it is closed the gate is held open.
"""

from __future__ import annotations

from typing import Any, Callable


class OverrideButton:
    """The attendant's momentary override button; `when_pressed` is called on each press."""

    def __init__(self, pin: int, *, pin_factory: Any = None, bounce_s: float | None = 0.05) -> None:
        from gpiozero import DigitalInputDevice

        self.when_pressed: Callable[[], None] | None = None
        self._button = DigitalInputDevice(pin, pull_up=True, bounce_time=bounce_s, pin_factory=pin_factory)
        self._button.when_activated = self._pressed

    @property
    def is_pressed(self) -> bool:
        return bool(self._button.is_active)

    def _pressed(self) -> None:
        if self.when_pressed is not None:
            self.when_pressed()

    def close(self) -> None:
        """Release the pin; safe to call twice."""
        self._button.close()


class FireRelease:
    """The fire-alarm release input; `when_changed(active)` is called on each change."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        from gpiozero import DigitalInputDevice

        self.when_changed: Callable[[bool], None] | None = None
        self._input = DigitalInputDevice(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self._input.when_activated = lambda: self._changed(True)
        self._input.when_deactivated = lambda: self._changed(False)

    @property
    def active(self) -> bool:
        """True while the fire panel asserts the release."""
        return bool(self._input.is_active)

    def _changed(self, active: bool) -> None:
        if self.when_changed is not None:
            self.when_changed(active)

    def close(self) -> None:
        """Release the pin; safe to call twice."""
        self._input.close()
