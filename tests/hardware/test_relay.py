"""The gate relay: off at start, open only for a pulse or the fire release, timed on a clock."""

from __future__ import annotations

import pytest

from gate.hardware.relay import Relay

PIN = 17


def states(pin):
    return [s.state for s in pin.states]


@pytest.fixture
def relay(pins, clock):
    r = Relay(PIN, active_high=True, pulse_s=3.0, pin_factory=pins, clock=clock, timer=False)
    yield r
    r.close()


def test_off_at_start_active_high(relay, pins):
    assert not relay.is_open
    assert pins.pin(PIN).state is False


def test_off_at_start_active_low_means_pin_high(pins, clock):
    r = Relay(PIN, active_high=False, pin_factory=pins, clock=clock, timer=False)
    assert pins.pin(PIN).state is True
    assert not r.is_open
    r.pulse()
    assert pins.pin(PIN).state is False
    r.close()
    assert states(pins.pin(PIN))[-1] is True


def test_pulse_lasts_pulse_s_on_the_clock(relay, pins, clock):
    pin = pins.pin(PIN)
    pin.clear_states()
    assert relay.pulse() is True
    clock.advance(2.9)
    assert relay.update() is True
    clock.advance(0.2)
    assert relay.update() is False
    pin.assert_states([False, True, False])
    assert states(pin) == [False, True, False]


def test_a_second_pulse_extends_the_first(relay, pins, clock):
    relay.pulse()
    clock.advance(2.0)
    relay.pulse()
    assert relay.deadline == pytest.approx(clock() + 3.0)
    clock.advance(2.0)  # 4 s after the first pulse, 2 s into the second
    assert relay.update() is True
    clock.advance(1.1)
    assert relay.update() is False
    assert states(pins.pin(PIN)) == [False, True, False]  # one opening, never a flicker


def test_a_shorter_pulse_never_cuts_a_running_one(relay, clock):
    relay.pulse(5.0)
    relay.pulse(1.0)
    clock.advance(2.0)
    assert relay.update() is True


def test_cancel_ends_a_pulse_now(relay, pins, clock):
    relay.pulse()
    relay.cancel()
    assert not relay.is_open
    assert pins.pin(PIN).state is False


def test_hold_open_outlasts_pulses_and_cancel(relay, pins, clock):
    relay.hold_open()
    assert pins.pin(PIN).state is True
    relay.pulse()
    clock.advance(10)
    relay.cancel()
    assert relay.update() is True
    relay.release_hold()
    assert pins.pin(PIN).state is False


def test_release_hold_keeps_a_running_pulse(relay, pins, clock):
    relay.hold_open()
    relay.pulse()
    relay.release_hold()
    assert relay.is_open
    clock.advance(3.1)
    assert relay.update() is False


def test_close_turns_off_and_is_safe_twice(pins, clock):
    r = Relay(PIN, active_high=True, pin_factory=pins, clock=clock, timer=False)
    r.pulse()
    r.hold_open()
    r.close()
    r.close()
    assert states(pins.pin(PIN))[-1] is False
    assert r.pulse() is False
    assert not r.is_open


def test_not_fitted_does_nothing_and_says_so(clock):
    r = Relay(None, clock=clock, timer=False)
    assert not r.fitted
    assert r.pulse() is False
    r.hold_open()
    r.close()
    r.close()


def test_timer_ends_the_pulse_by_itself(pins, eventually):
    r = Relay(PIN, active_high=True, pulse_s=0.05, pin_factory=pins)
    pin = pins.pin(PIN)
    pin.clear_states()
    r.pulse()
    assert eventually(lambda: pin.state is False)
    assert states(pin) == [False, True, False]
    pin.assert_states_and_times([(0.0, False), (0.0, True), (0.05, False)])
    r.close()
