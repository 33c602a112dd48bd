"""The gate's body: relay, lights, buzzer, speaker and inputs assembled from the configuration.

This is what the kiosk and `gate replay` drive: `show(decision, speech)` lights and sounds the
decision and, for `allow` only, pulses the relay, then hands the spoken prompt to the speaker,
which plays it on its own thread (the relay never waits for the voice). Every part whose pin is null is simply not
fitted. On a Raspberry Pi the default gpiozero pin factory drives the real pins; anywhere else
pass `pin_factory=gpiozero.pins.mock.MockFactory()` (`simulated_body()` does that).

The relay opens only on `allow`, a recorded override or the fire release; it is off at start,
after `shut()`, on `close()` (also when a `with GateBody(...)` block ends by an exception) and
on SIGTERM once `install_sigterm_handler(body)` has run.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any, Callable

from gpiozero.exc import BadPinFactory

from gate.errors import GateError
from gate.hardware.buzzer import PATTERNS, Buzzer, Pattern
from gate.hardware.inputs import FireRelease, OverrideButton
from gate.hardware.lights import Lights
from gate.hardware.relay import Relay
from gate.hardware.speaker import Speaker
from gate.voice import Line
from gate.vocabulary import OVERRIDE_SIGNAL, Signal, decision_words

log = logging.getLogger(__name__)

# [io] keys holding pin numbers, in the order parts are built.
PIN_KEYS: tuple[str, ...] = (
    "relay_pin",
    "led_green_pin",
    "led_yellow_pin",
    "led_red_pin",
    "buzzer_pin",
    "override_button_pin",
    "fire_release_pin",
)


class HardwareError(GateError):
    """The gate's parts could not be set up (pin clash, no GPIO on this machine, ...)."""


class GateBody:
    """Relay, lights, buzzer, override button and fire release of one gate.

    `io` is the `[io]` configuration section. `clock` (monotonic) times relay pulses; with
    `timer=False` pulses end only when `update()` is called (tests with a fake clock).
    `blink_s` and `patterns` change how the lights blink and the buzzer sounds.

    `on_override(overridden)` is called when the attendant presses the override button, with
    the decision last shown (None if none since the last override); the kiosk records the
    override there. When it returns the relay pulses; when it raises, or when no `on_override`
    is set, the gate stays shut (nothing opens unrecorded). `on_button()`, when set, is asked
    first on each press of the button: True means the press was taken for something else (a
    venue card confirmed) and is no override. `on_fire_release(active)` is called
    on each change of the fire-release input. Input callbacks run on gpiozero's thread.
    """

    def __init__(
        self,
        io: Any,
        *,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
        blink_s: float = 0.5,
        patterns: dict[str, Pattern] | None = None,
        input_bounce_s: float | None = 0.05,
        on_override: Callable[[str | None], None] | None = None,
        on_fire_release: Callable[[bool], None] | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.io = io
        self.pin_factory = pin_factory
        self.on_override = on_override
        self.on_button: Callable[[], bool] | None = None
        self.on_fire_release = on_fire_release
        self._lock = threading.RLock()
        self._last_decision: str | None = None
        self._closed = False
        self.relay: Relay | None = None
        self.lights: Lights | None = None
        self.buzzer: Buzzer | None = None
        self.override_button: OverrideButton | None = None
        self.fire_release: FireRelease | None = None
        self.speaker: Speaker = speaker if speaker is not None else Speaker(None)
        _check_pins(io)
        try:
            self.relay = Relay(
                io.relay_pin,
                active_high=io.relay_active_high,
                pulse_s=io.relay_pulse_s,
                pin_factory=pin_factory,
                clock=clock,
                timer=timer,
            )
            self.lights = Lights(
                io.led_green_pin, io.led_yellow_pin, io.led_red_pin, pin_factory=pin_factory, blink_s=blink_s
            )
            self.buzzer = Buzzer(io.buzzer_pin, pin_factory=pin_factory, patterns=patterns or PATTERNS)
            if io.override_button_pin is not None:
                self.override_button = OverrideButton(
                    io.override_button_pin, pin_factory=pin_factory, bounce_s=input_bounce_s
                )
                self.override_button.when_pressed = self._override_pressed
            if io.fire_release_pin is not None:
                self.fire_release = FireRelease(io.fire_release_pin, pin_factory=pin_factory)
                self.fire_release.when_changed = self._fire_release_changed
                if self.fire_release.active:
                    self.relay.hold_open()
        except HardwareError:
            self.close()
            raise
        except BadPinFactory as exc:
            self.close()
            raise HardwareError("no GPIO pins found on this machine (gpiozero could not load a pin factory)") from exc
        except Exception as exc:  # gpiozero raises many kinds: no pin factory, bad pin, pin in use
            self.close()
            raise HardwareError(f"cannot set up the gate's GPIO pins: {exc}") from exc

    # -- what the kiosk reads ---------------------------------------------------------------

    @property
    def last_decision(self) -> str | None:
        return self._last_decision

    @property
    def relay_open(self) -> bool:
        return self.relay is not None and self.relay.is_open

    @property
    def faults(self) -> list[str]:
        """The gate.faults codes the body's parts are in now (a missing sound card, ...)."""
        return [self.speaker.fault] if self.speaker.fault else []

    @property
    def fire_release_active(self) -> bool:
        """True while the fire-release input holds the gate open (every record should say so)."""
        return self.fire_release is not None and self.fire_release.active

    # -- what the kiosk does ----------------------------------------------------------------

    def show(self, decision: str, speech: tuple[Line, ...] = ()) -> bool:
        """Light and sound a decision; pulse the relay on `allow`; then say `speech` in the
        background (gate.voice.lines_for). Returns whether the relay pulsed.

        Call it only after the scan's record is committed (write before you open).
        """
        signal_ = decision_words(decision).signal  # ValueError for a decision the gate does not know
        with self._lock:
            if self._closed:
                return False
            self._last_decision = decision
            pulsed = self._give(signal_)
        self.speaker.say(speech)  # after the relay: the voice never delays the gate
        return pulsed

    def pulse_relay(self, seconds: float | None = None) -> bool:
        """Open the gate for a pulse (default `relay_pulse_s`); True when a relay opened."""
        with self._lock:
            if self._closed:
                return False
            return self.relay.pulse(seconds)

    def override(self) -> bool:
        """The attendant lets the person through once (the button, or a screen button).

        Calls `on_override(last decision)` first; pulses only if it returns normally.
        """
        with self._lock:
            if self._closed or self.on_override is None:
                log.warning("override ignored: nothing is set up to record it")
                return False
            overridden = self._last_decision
        # Called without the lock held: the recorder may take its time or call show().
        try:
            self.on_override(overridden)
        except Exception:
            log.exception("override not recorded; the gate stays shut")
            return False
        with self._lock:
            if self._closed:
                return False
            self._last_decision = None
            return self._give(OVERRIDE_SIGNAL)

    def _give(self, signal_: Signal) -> bool:
        """Relay, light and buzzer as `signal_` says (the lock held); whether the relay pulsed."""
        pulsed = self.relay.pulse() if signal_.opens else False
        self.lights.show(signal_.light, blink=signal_.blink)
        if signal_.buzzer is None:
            self.buzzer.silence()
        else:
            self.buzzer.sound(signal_.buzzer)
        return pulsed

    def update(self) -> bool:
        """End a relay pulse whose time is up (needed only with `timer=False`); is it open?"""
        return self.relay is not None and self.relay.update()

    def idle(self) -> None:
        """Lights out and silence between people (the relay is left to its pulse)."""
        with self._lock:
            if self._closed:
                return
            self.lights.off()
            self.buzzer.silence()

    def shut(self) -> None:
        """End any relay pulse now, e.g. after an error in a scan (fire release still holds)."""
        if self.relay is not None:
            self.relay.cancel()

    def close(self) -> None:
        """Relay off first, then everything else released; safe to call twice."""
        with self._lock:
            self._closed = True
            for part in (self.relay, self.override_button, self.fire_release, self.buzzer, self.lights):
                if part is not None:
                    part.close()
        self.speaker.close()

    def __enter__(self) -> "GateBody":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inputs -----------------------------------------------------------------------------

    def _override_pressed(self) -> None:
        taker = self.on_button
        if taker is not None:
            try:
                if taker():
                    return  # taken (a venue card confirmed): no override, the relay does not move
            except Exception:  # noqa: BLE001  (a press nobody could handle keeps the gate shut)
                log.exception("attendant button press not handled; the gate stays shut")
                return
        self.override()

    def _fire_release_changed(self, active: bool) -> None:
        with self._lock:
            if self._closed:
                return
            if active:
                log.warning("fire release asserted: gate held open")
                self.relay.hold_open()
            else:
                log.warning("fire release cleared: gate back to normal")
                self.relay.release_hold()
        if self.on_fire_release is not None:
            self.on_fire_release(active)


def _check_pins(io: Any) -> None:
    seen: dict[int, str] = {}
    for key in PIN_KEYS:
        pin = getattr(io, key)
        if pin is None:
            continue
        if pin in seen:
            raise HardwareError(f"io.{key} and io.{seen[pin]} both use GPIO{pin}: give each part its own pin")
        seen[pin] = key


def simulated_body(io: Any, **kwargs: Any) -> GateBody:
    """A GateBody on gpiozero's mock pins: for `gate replay`, the demo and tests.

    The mock pins are reachable as `body.pin_factory.pin(n)` (drive_low() to press a button).
    """
    from gpiozero.pins.mock import MockFactory

    factory = kwargs.pop("pin_factory", None) or MockFactory()
    return GateBody(io, pin_factory=factory, **kwargs)


def install_sigterm_handler(body: GateBody) -> Any:
    """On SIGTERM (systemd stop): relay off and everything closed, then exit with status 143.

    Call from the main thread. Returns the previous handler so a caller can restore it.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        body.close()
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)
