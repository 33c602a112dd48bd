"""The backoff between rounds: full jitter, base 2 s, cap 300 s; grows only on rounds that moved nothing."""

from __future__ import annotations

import time
from email.utils import formatdate

from gate.sync import BACKOFF_CAP_S, META_BACKOFF, META_PROBLEM, Backoff, Stop, backoff_delay, sync_health
from tests.synckit import FakeTime, closed_port_url, make_records, proxy_for


def test_backoff_is_exponential_with_full_jitter_base_2_cap_300():
    assert [backoff_delay(n, lambda: 1.0) for n in range(1, 11)] == [
        2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_delay(5, lambda: 0.0) == 0.0
    assert backoff_delay(3, lambda: 0.25) == 2.0
    assert backoff_delay(10_000, lambda: 1.0) == BACKOFF_CAP_S


def test_the_exponent_grows_only_on_rounds_that_moved_nothing(gate):
    clock = FakeTime()
    backoff = Backoff(gate.store, monotonic=clock, random=lambda: 1.0)
    away = Stop("network", "no answer")
    assert [backoff.stopped(away, moved=False) for _ in range(4)] == [2, 4, 8, 16]
    assert backoff.failures == 4 and backoff.due_in() == 16
    assert backoff.stopped(away, moved=True) == 2  # it delivered, then the link failed: reset
    assert backoff.failures == 0
    assert backoff.stopped(away, moved=False) == 2 and backoff.failures == 1


def test_retry_after_is_honoured_up_to_an_hour(gate):
    backoff = Backoff(gate.store, monotonic=FakeTime(), random=lambda: 0.0)
    assert backoff.stopped(Stop("unavailable", "busy", retry_after=40), moved=True) == 40
    assert backoff.stopped(Stop("unavailable", "busy", retry_after=86400), moved=False) == 3600


def test_a_completed_round_clears_the_schedule_and_a_refusal(gate):
    backoff = Backoff(gate.store, monotonic=FakeTime(), random=lambda: 1.0)
    backoff.stopped(Stop("auth", "refused", status=401, code="unknown_device"), moved=False)
    assert gate.store.meta_get(META_PROBLEM)["error"] == "unknown_device"
    backoff.completed()
    assert backoff.due_in() == 0 and backoff.failures == 0
    assert gate.store.meta_get(META_BACKOFF) is None and gate.store.meta_get(META_PROBLEM) is None


def test_a_new_process_waits_out_what_is_left_but_never_longer_than_the_delay(gate):
    wall = [5000.0]
    Backoff(gate.store, clock=lambda: wall[0], monotonic=FakeTime(),
            random=lambda: 1.0).stopped(Stop("network", "x"), moved=False)
    wall[0] += 1.5
    assert Backoff(gate.store, clock=lambda: wall[0], monotonic=FakeTime()).due_in() == 0.5
    wall[0] -= 10_000  # the wall clock stepped back: still at most the 2 s delay
    assert Backoff(gate.store, clock=lambda: wall[0], monotonic=FakeTime()).due_in() == 2


def test_a_503_retry_after_date_sets_the_next_attempt(collector_factory, gate, proxies):
    collector = collector_factory()
    gate.add(make_records(5))
    proxy = proxy_for(proxies, collector, plan={1: "503"},
                      retry_after=formatdate(time.time() + 120, usegmt=True))
    syncer = gate.syncer(proxy.url, random=lambda: 0.0)
    result = syncer.round()
    assert result.stopped_by == "unavailable" and "503" in result.error
    assert 110 <= result.next_attempt_in <= 121
    assert 110 <= syncer.due_in() <= 121
    assert gate.store.queue_depth() == 5


def test_failures_back_off_durably_and_a_good_round_resets(collector_factory, gate):
    gate.add(make_records(5))
    clock = FakeTime()
    away = gate.syncer(closed_port_url(), random=lambda: 1.0, monotonic=clock)
    delays = [away.round().next_attempt_in for _ in range(4)]
    assert delays == [2, 4, 8, 16]
    assert away.due_in() == 16
    saved = gate.store.meta_get(META_BACKOFF)
    assert saved["failures"] == 4 and "connection" in saved["error"].lower()
    assert sync_health(gate.store)["failures"] == 4

    # a new process carries the count and waits out what is left of the delay
    later = gate.syncer(closed_port_url(), random=lambda: 1.0)
    assert later.failures == 4 and 0 < later.due_in() <= 16

    collector = collector_factory()
    good = gate.syncer(collector.url)
    assert good.round().ok and good.failures == 0 and good.due_in() == 0
    assert gate.store.meta_get(META_BACKOFF) is None
    assert sync_health(gate.store)["last_success"] is not None


def test_a_round_that_delivers_then_fails_resets_the_backoff(collector_factory, gate, proxies):
    collector = collector_factory()
    gate.add(make_records(30))
    cut = "cut"
    proxy_plan = {1: cut, 2: cut, 3: cut, 4: cut, 5: cut, 6: cut, 8: cut, 9: cut, 10: cut}
    proxy = proxy_for(proxies, collector, plan=proxy_plan)
    syncer = gate.syncer(proxy.url, batch_size=10, random=lambda: 1.0, monotonic=FakeTime())
    assert [syncer.round().next_attempt_in for _ in range(2)] == [2, 4]  # nothing got through
    assert syncer.failures == 2
    moved = syncer.round()  # batch 7 delivered, then 8, 9, 10 cut
    assert moved.stopped_by == "network" and moved.uploaded + moved.duplicates == 10
    assert syncer.failures == 0 and moved.next_attempt_in == 2
