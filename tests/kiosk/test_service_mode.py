"""Service mode's lease in the kiosk (gate/kiosk/service_mode.py): on, renewed, ended, expired."""

from __future__ import annotations

from gate.kiosk.service_mode import LEASE_S, ServiceMode


def test_it_is_off_until_started_and_says_the_time_left():
    now = [100.0]
    mode = ServiceMode(clock=lambda: now[0])
    assert not mode.on and mode.state().to_json() == {"on": False, "left_s": None, "ended": None}
    assert mode.start() is True
    now[0] += 60
    assert mode.on and mode.state().left_s == LEASE_S - 60


def test_a_renewal_restarts_the_lease_and_is_not_a_second_start():
    now = [0.0]
    mode = ServiceMode(clock=lambda: now[0])
    mode.start()
    now[0] = LEASE_S - 1
    assert mode.start() is False
    now[0] = LEASE_S + 1
    assert not mode.expired() and mode.on


def test_it_expires_once_when_the_lease_runs_out():
    now = [0.0]
    mode = ServiceMode(clock=lambda: now[0])
    mode.start(lease_s=30)
    now[0] = 29.9
    assert not mode.expired()
    now[0] = 30
    assert mode.expired() is True and not mode.on
    assert mode.expired() is False
    assert "ran out" in mode.state().ended


def test_no_lease_is_longer_than_fifteen_minutes():
    now = [0.0]
    mode = ServiceMode(clock=lambda: now[0])
    mode.start(lease_s=10 * LEASE_S)
    assert mode.state().left_s == LEASE_S


def test_ending_it_says_why_and_ending_it_twice_is_harmless():
    mode = ServiceMode()
    mode.start()
    assert mode.end("the technician signed out") is True
    assert mode.end("again") is False
    assert mode.state().ended == "the technician signed out"
