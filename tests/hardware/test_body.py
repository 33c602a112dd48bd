"""The gate's body on gpiozero's mock pins: what each decision lights, sounds and opens."""

from __future__ import annotations

import os
import signal

import pytest

from gate.config import IOConfig
from gate.hardware.body import (
    GateBody,
    HardwareError,
    install_sigterm_handler,
    simulated_body,
)
from gate.hardware.buzzer import Pattern
from gate.vocabulary import DECISION_WORDS, DECISIONS

SIGNALS = {code: words.signal for code, words in DECISION_WORDS.items()}

IO = IOConfig(relay_active_high=True)  # active-high in most tests: pin high == relay energised
RELAY, GREEN, YELLOW, RED, BUZZER, OVERRIDE, FIRE = 17, 22, 27, 23, 24, 25, 5
LIGHT_PINS = {"green": GREEN, "yellow": YELLOW, "red": RED}
FAST = {"short": Pattern(0.01), "long": Pattern(0.03), "repeat": Pattern(0.01, 0.01, None)}


def states(pin):
    return [s.state for s in pin.states]


@pytest.fixture
def make_body(pins, clock):
    made = []

    def make(io=IO, **kwargs):
        kwargs.setdefault("pin_factory", pins)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("timer", False)
        kwargs.setdefault("blink_s", 0.01)
        kwargs.setdefault("patterns", FAST)
        kwargs.setdefault("input_bounce_s", None)
        body = GateBody(io, **kwargs)
        made.append(body)
        return body

    yield make
    for body in made:
        body.close()


@pytest.fixture
def body(make_body):
    return make_body()


def test_everything_off_at_start(body, pins):
    for pin in (RELAY, GREEN, YELLOW, RED, BUZZER):
        assert pins.pin(pin).state is False
    assert not body.relay_open
    assert not body.fire_release_active
    assert body.last_decision is None


# -- the relay ------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", DECISIONS)
def test_relay_opens_only_on_allow(body, pins, decision):
    pulsed = body.show(decision)
    assert pulsed is (decision == "allow")
    assert pins.pin(RELAY).state is (decision == "allow")


def test_allow_pulses_for_relay_pulse_s(make_body, pins, clock):
    body = make_body(IOConfig(relay_active_high=True, relay_pulse_s=2.0))
    relay = pins.pin(RELAY)
    relay.clear_states()
    body.show("allow")
    clock.advance(1.9)
    assert body.update() is True
    clock.advance(0.2)
    assert body.update() is False
    relay.assert_states([False, True, False])
    assert states(relay) == [False, True, False]


def test_second_allow_extends_the_pulse(body, pins, clock):
    body.show("allow")
    clock.advance(2.5)
    body.show("allow")
    clock.advance(2.5)
    assert body.update() is True
    clock.advance(0.6)
    assert body.update() is False
    assert states(pins.pin(RELAY)) == [False, True, False]


def test_deny_after_allow_does_not_cut_the_pulse_short(body, clock):
    # the person already let through is still walking: a refusal for the next one shows red only
    body.show("allow")
    body.show("deny")
    assert body.relay_open


def test_shut_ends_the_pulse_now(body, pins):
    body.show("allow")
    body.shut()
    assert pins.pin(RELAY).state is False


def test_unknown_decision_is_refused_and_gate_stays_shut(body, pins):
    with pytest.raises(ValueError, match="unknown decision 'open'"):
        body.show("open")
    assert pins.pin(RELAY).state is False


def test_active_low_relay_board(make_body, pins):
    body = make_body(IOConfig(relay_active_high=False))
    assert pins.pin(RELAY).state is True  # released: input held high
    body.show("allow")
    assert pins.pin(RELAY).state is False
    body.close()
    assert pins.pin(RELAY).state is True


def test_real_timer_closes_the_gate(make_body, pins, eventually):
    import time

    body = make_body(IOConfig(relay_active_high=True, relay_pulse_s=0.05), clock=time.monotonic, timer=True)
    relay = pins.pin(RELAY)
    relay.clear_states()
    body.show("allow")
    assert eventually(lambda: relay.state is False)
    assert states(relay) == [False, True, False]


# -- lights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", DECISIONS)
def test_lights_per_decision(body, pins, eventually, decision):
    colour, blink = SIGNALS[decision].light, SIGNALS[decision].blink
    body.show(decision)
    assert body.lights.state == (colour, blink)
    lit = pins.pin(LIGHT_PINS[colour])
    for other, pin in LIGHT_PINS.items():
        if other != colour:
            assert pins.pin(pin).state is False
    if blink:
        # on, off, on again: it blinks (a bound on the wait, not a timing assert)
        assert eventually(lambda: states(lit)[:4] == [False, True, False, True])
    else:
        assert lit.state is True
        assert states(lit) == [False, True]


def test_decisions_table_matches_venue_rules():
    expected = {
        "allow": ("green", False),
        "deny": ("red", False),
        "recheck": ("yellow", False),
        "refer": ("red", True),
        "hold": ("red", True),
        "manual": ("yellow", True),
    }
    assert {d: (s.light, s.blink) for d, s in SIGNALS.items()} == expected
    assert [d for d, s in SIGNALS.items() if s.opens] == ["allow"]


def test_next_decision_replaces_the_lights(body, pins):
    body.show("hold")
    body.show("allow")
    assert pins.pin(RED).state is False
    assert pins.pin(GREEN).state is True


def test_idle_puts_out_lights_and_buzzer(body, pins, eventually):
    body.show("hold")
    body.idle()
    assert all(pins.pin(p).state is False for p in (GREEN, YELLOW, RED, BUZZER))
    assert body.lights.state is None


# -- buzzer ---------------------------------------------------------------------------------


def test_short_beep_on_allow(body, pins, eventually):
    body.show("allow")
    assert body.buzzer.pattern == "short"
    assert eventually(lambda: states(pins.pin(BUZZER)) == [False, True, False])


def test_long_beep_on_deny(body, pins, eventually):
    body.show("deny")
    assert body.buzzer.pattern == "long"
    assert eventually(lambda: states(pins.pin(BUZZER)) == [False, True, False])


def test_default_patterns_short_allow_long_deny():
    from gate.hardware.buzzer import PATTERNS

    assert PATTERNS["short"].times == PATTERNS["long"].times == 1
    assert PATTERNS["short"].on_s < PATTERNS["long"].on_s
    assert PATTERNS["repeat"].times is None
    assert [d for d, s in SIGNALS.items() if s.buzzer == "repeat"] == ["hold"]


def test_repeated_beeps_on_hold(body, pins, eventually):
    body.show("hold")
    assert eventually(lambda: states(pins.pin(BUZZER))[:5] == [False, True, False, True, False])


@pytest.mark.parametrize("decision", ["recheck", "refer", "manual"])
def test_silent_decisions(body, pins, decision):
    body.show(decision)
    assert body.buzzer.pattern is None
    assert states(pins.pin(BUZZER)) == [False]


# -- override -------------------------------------------------------------------------------


def test_override_button_lets_through_once_and_reports_what_it_overrode(make_body, pins):
    overrides = []
    body = make_body(on_override=overrides.append)
    body.show("manual")
    assert pins.pin(RELAY).state is False
    pins.pin(OVERRIDE).drive_low()
    assert overrides == ["manual"]
    assert pins.pin(RELAY).state is True
    assert pins.pin(GREEN).state is True
    pins.pin(OVERRIDE).drive_high()
    pins.pin(OVERRIDE).drive_low()  # a second press is a new override of nothing shown since
    assert overrides == ["manual", None]


def test_a_press_taken_by_on_button_is_no_override_and_the_gate_stays_shut(make_body, pins):
    overrides, taken = [], []
    body = make_body(on_override=overrides.append)
    body.on_button = lambda: taken.append(True) or True  # a venue card waits: the press confirms it
    body.show("deny")
    pins.pin(OVERRIDE).drive_low()
    assert taken == [True] and overrides == [] and pins.pin(RELAY).state is False
    pins.pin(OVERRIDE).drive_high()
    body.on_button = lambda: False  # nothing waits: the button is the override again
    pins.pin(OVERRIDE).drive_low()
    assert overrides == ["deny"] and pins.pin(RELAY).state is True


def test_a_press_whose_taker_fails_keeps_the_gate_shut(make_body, pins):
    overrides = []
    body = make_body(on_override=overrides.append)

    def broken() -> bool:
        raise RuntimeError("card flow broke")

    body.on_button = broken
    body.show("deny")
    pins.pin(OVERRIDE).drive_low()
    assert overrides == [] and pins.pin(RELAY).state is False


def test_override_is_recorded_before_the_gate_opens(make_body, pins):
    seen = []
    body = make_body(on_override=lambda d: seen.append(pins.pin(RELAY).state))
    body.show("deny")
    body.override()
    assert seen == [False]
    assert body.relay_open


def test_unrecorded_override_keeps_the_gate_shut(make_body, pins):
    def broken_store(decision):
        raise OSError("disk full")

    body = make_body(on_override=broken_store)
    body.show("deny")
    pins.pin(OVERRIDE).drive_low()
    assert pins.pin(RELAY).state is False
    assert body.last_decision == "deny"


def test_override_without_a_recorder_does_nothing(body, pins):
    body.show("deny")
    pins.pin(OVERRIDE).drive_low()
    assert pins.pin(RELAY).state is False


# -- fire release ---------------------------------------------------------------------------


def test_fire_release_holds_the_gate_open_until_released(make_body, pins, clock):
    changes = []
    body = make_body(on_fire_release=changes.append)
    pins.pin(FIRE).drive_low()
    assert body.fire_release_active
    assert pins.pin(RELAY).state is True
    body.show("deny")  # refusals are still shown and recorded, but the gate stays open
    body.shut()
    clock.advance(60)
    assert body.update() is True
    assert pins.pin(RELAY).state is True
    pins.pin(FIRE).drive_high()
    assert not body.fire_release_active
    assert pins.pin(RELAY).state is False
    assert changes == [True, False]
    body.show("allow")
    assert pins.pin(RELAY).state is True  # back to normal


# -- parts not fitted -----------------------------------------------------------------------


def test_nothing_fitted_still_works(make_body):
    io = IOConfig(
        relay_pin=None, led_green_pin=None, led_yellow_pin=None, led_red_pin=None,
        buzzer_pin=None, override_button_pin=None, fire_release_pin=None,
    )
    body = make_body(io)
    for decision in DECISIONS:
        assert body.show(decision) is False
    assert body.pulse_relay() is False
    assert not body.fire_release_active
    assert body.override() is False
    body.close()


def test_some_parts_missing_rest_works(make_body, pins):
    body = make_body(IOConfig(relay_active_high=True, led_yellow_pin=None, buzzer_pin=None, fire_release_pin=None))
    body.show("manual")  # yellow not fitted: nothing lit, nothing breaks
    assert all(pins.pin(p).state is False for p in (GREEN, RED))
    assert body.show("allow") is True
    assert pins.pin(GREEN).state is True
    assert body.lights.fitted == ("green", "red")


def test_two_parts_on_one_pin_is_refused(make_body):
    with pytest.raises(HardwareError, match="io.buzzer_pin and io.relay_pin both use GPIO17"):
        make_body(IOConfig(buzzer_pin=17))


# -- shutdown -------------------------------------------------------------------------------


def test_close_turns_relay_off_and_is_safe_twice(body, pins):
    body.show("allow")
    body.close()
    body.close()
    assert states(pins.pin(RELAY))[-1] is False
    assert body.show("allow") is False


def test_an_exception_in_a_with_block_leaves_the_gate_shut(make_body, pins):
    with pytest.raises(RuntimeError):
        with make_body() as body:
            body.show("allow")
            raise RuntimeError("decoder crashed")
    assert states(pins.pin(RELAY))[-1] is False


def test_sigterm_turns_the_relay_off(make_body, pins):
    body = make_body()
    previous = install_sigterm_handler(body)
    try:
        body.show("allow")
        with pytest.raises(SystemExit) as exit_info:
            os.kill(os.getpid(), signal.SIGTERM)
        assert exit_info.value.code == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert states(pins.pin(RELAY))[-1] is False


def test_simulated_body_uses_mock_pins():
    body = simulated_body(IOConfig(), timer=False)
    try:
        assert body.show("allow") is True
        assert body.pin_factory.pin(RELAY).state is False  # default board is active-low
    finally:
        body.close()
