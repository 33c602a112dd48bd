"""The buzzer that tells the person and the attendant what happened without looking.

Wiring: an active (self-oscillating) 5 V buzzer module: VCC to 5V, GND to ground, IN/S to the
GPIO named by `io.buzzer_pin`. A bare piezo buzzer needs a transistor: GPIO to 1 kΩ to the
base of an NPN (2N2222), buzzer between 5V and the collector, emitter to ground.

Patterns: `short` (one short beep, allow), `long` (one long beep, deny), `repeat` (beeping
until silenced or another pattern starts, hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Pattern:
    """How a pattern sounds: `on_s` of sound, `off_s` of silence, `times` (None: until stopped)."""

    on_s: float
    off_s: float = 0.0
    times: int | None = 1


PATTERNS: dict[str, Pattern] = {
    "short": Pattern(0.1),
    "long": Pattern(0.8),
    "repeat": Pattern(0.2, 0.3, None),
}


class Buzzer:
    """A buzzer on one GPIO pin, or silence when `pin` is None (not fitted)."""

    def __init__(
        self,
        pin: int | None,
        *,
        pin_factory: Any = None,
        patterns: dict[str, Pattern] | None = None,
    ) -> None:
        self.patterns = dict(PATTERNS if patterns is None else patterns)
        self._pattern: str | None = None
        self._device = None
        if pin is not None:
            from gpiozero import Buzzer as _GpioBuzzer

            self._device = _GpioBuzzer(pin, initial_value=False, pin_factory=pin_factory)

    @property
    def fitted(self) -> bool:
        return self._device is not None

    @property
    def pattern(self) -> str | None:
        """The pattern last started (None after `silence()`)."""
        return self._pattern

    def sound(self, pattern: str) -> None:
        """Start a pattern in the background, replacing whatever was sounding."""
        spec = self.patterns.get(pattern)
        if spec is None:
            raise ValueError(f"unknown buzzer pattern {pattern!r}: use {', '.join(self.patterns)}")
        self._pattern = pattern
        if self._device is not None:
            self._device.blink(on_time=spec.on_s, off_time=spec.off_s, n=spec.times)

    def silence(self) -> None:
        self._pattern = None
        if self._device is not None:
            self._device.off()

    def close(self) -> None:
        """Silent and pin released; safe to call twice."""
        self._pattern = None
        if self._device is not None:
            self._device.close()
            self._device = None
