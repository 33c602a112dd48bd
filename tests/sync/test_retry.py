"""Retries inside a round: a transient failure is tried twice more after a short jittered pause."""

from __future__ import annotations

import pytest

from gate.sync import Retrier, Stop
from tests.synckit import FakeTime


def failing(*stops: Stop, then: str = "answer"):
    """A request that fails with each of `stops` in turn, then answers `then`."""
    left = list(stops)
    calls = []

    def send() -> str:
        calls.append(1)
        if left:
            raise left.pop(0)
        return then

    send.calls = calls  # type: ignore[attr-defined]
    return send


@pytest.mark.parametrize("kind", ["network", "unavailable"])
def test_a_transient_failure_is_tried_twice_more_after_a_jittered_pause(kind):
    clock = FakeTime()
    retry = Retrier(sleep=clock.sleep, random=lambda: 0.75)
    send = failing(Stop(kind, "x"), Stop(kind, "y"))
    assert retry(send) == "answer" and len(send.calls) == 3
    assert clock.slept == [1.5, 1.5] and retry.retries == 2


def test_after_three_failures_the_last_one_is_raised():
    retry = Retrier(sleep=FakeTime().sleep, random=lambda: 0.0)
    send = failing(Stop("network", "1"), Stop("network", "2"), Stop("network", "3"))
    with pytest.raises(Stop, match="3"):
        retry(send)
    assert len(send.calls) == 3


@pytest.mark.parametrize("kind", ["auth", "protocol", "store"])
def test_a_failure_that_would_fail_again_is_raised_at_once(kind):
    clock = FakeTime()
    send = failing(Stop(kind, "no"))
    with pytest.raises(Stop):
        Retrier(sleep=clock.sleep)(send)
    assert len(send.calls) == 1 and clock.slept == []


def test_a_retry_after_of_five_seconds_or_less_is_the_pause():
    clock = FakeTime()
    send = failing(Stop("unavailable", "busy", retry_after=5.0))
    assert Retrier(sleep=clock.sleep, random=lambda: 0.1)(send) == "answer"
    assert clock.slept == [5.0]


def test_a_longer_retry_after_ends_the_round_at_once():
    clock = FakeTime()
    send = failing(Stop("unavailable", "busy", retry_after=6.0))
    with pytest.raises(Stop):
        Retrier(sleep=clock.sleep)(send)
    assert len(send.calls) == 1 and clock.slept == []


def test_a_single_try_when_asked():
    send = failing(Stop("network", "x"))
    with pytest.raises(Stop):
        Retrier(sleep=FakeTime().sleep)(send, tries=1)
    assert len(send.calls) == 1
