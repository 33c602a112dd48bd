"""The three signal lights facing the person at the gate: green, yellow, red.

Wiring: each LED (or the input of an LED-tower driver board) on its own GPIO, BCM numbers
`io.led_green_pin`, `io.led_yellow_pin`, `io.led_red_pin`: GPIO to a 330 Ω resistor to the
LED's anode (long leg), cathode to ground. A tower lamp needs a transistor or relay board
between the GPIO and the lamp; the GPIO pin side is wired the same way.

A colour whose pin is None is not fitted: asking for it lights nothing, and the rest works.
Calls may come from several threads (a decision on the kiosk's loop, a lost camera reported by the
capture thread); each is taken whole under one lock, because gpiozero's LED is not safe against a
blink started in one thread and stopped in another before its thread has begun.
"""

from __future__ import annotations

import threading
from typing import Any

COLOURS: tuple[str, ...] = ("green", "yellow", "red")


class Lights:
    """Green, yellow and red lights; one colour on (steady or blinking) at a time."""

    def __init__(
        self,
        green_pin: int | None,
        yellow_pin: int | None,
        red_pin: int | None,
        *,
        pin_factory: Any = None,
        blink_s: float = 0.5,
    ) -> None:
        from gpiozero import LED

        self.blink_s = blink_s
        self._lock = threading.RLock()
        self._leds: dict[str, Any] = {}
        self._state: tuple[str, bool] | None = None
        try:
            for colour, pin in zip(COLOURS, (green_pin, yellow_pin, red_pin)):
                if pin is not None:
                    self._leds[colour] = LED(pin, initial_value=False, pin_factory=pin_factory)
        except Exception:
            self.close()
            raise

    @property
    def fitted(self) -> tuple[str, ...]:
        """The colours that have a light."""
        return tuple(c for c in COLOURS if c in self._leds)

    @property
    def state(self) -> tuple[str, bool] | None:
        """(colour, blinking) last asked for, or None when the lights are off."""
        return self._state

    def show(self, colour: str, *, blink: bool = False) -> None:
        """Light one colour, steady or blinking, and put the others out."""
        if colour not in COLOURS:
            raise ValueError(f"unknown light colour {colour!r}: use green, yellow or red")
        with self._lock:
            for other, led in self._leds.items():
                if other != colour:
                    led.off()
            led = self._leds.get(colour)
            if led is not None:
                if blink:
                    led.blink(on_time=self.blink_s, off_time=self.blink_s)
                else:
                    led.on()
            self._state = (colour, blink)

    def off(self) -> None:
        with self._lock:
            for led in self._leds.values():
                led.off()
            self._state = None

    def close(self) -> None:
        """All lights off and pins released; safe to call twice."""
        with self._lock:
            for led in self._leds.values():
                led.close()
            self._leds.clear()
            self._state = None
