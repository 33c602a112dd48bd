"""The forever loop, driven by an injected clock and sleep: no real waiting."""

from __future__ import annotations

from gate.sync import RoundResult
from tests.synckit import (
    ALERT_EVERY, BACKLOG, FakeTime, closed_port_url, collector_holds_each_once, make_records, proxy_for,
)


def test_it_backs_off_while_the_collector_is_away(gate):
    gate.add(make_records(3))
    clock = FakeTime(0.0)
    starts: list[float] = []
    results: list[RoundResult] = []
    syncer = gate.syncer(closed_port_url(), random=lambda: 1.0, monotonic=clock, sleep=clock.sleep)
    syncer.round = _timed(syncer.round, clock, starts)  # type: ignore[method-assign]
    syncer.run_forever(lambda: clock.now >= 60, on_round=results.append)
    assert [r.next_attempt_in for r in results] == [2, 4, 8, 16]
    # each round: the lists and a batch, each tried three times with 2 s pauses (8 s), then the backoff
    assert starts == [0, 10, 22, 38]


def _timed(round_fn, clock, starts):
    def timed(**kwargs):
        starts.append(clock.now)
        return round_fn(**kwargs)
    return timed


def test_thousands_through_a_flaky_link_are_delivered_exactly_once(collector_factory,
                                                                  backlogged_gate, proxies):
    collector = collector_factory()
    proxy = proxy_for(proxies, collector, fail_rate=0.2, drop_rate=0.1, seed=3)
    clock = FakeTime(0.0)
    results: list[RoundResult] = []
    syncer = backlogged_gate.syncer(proxy.url, batch_size=250, monotonic=clock, sleep=clock.sleep,
                                    random=lambda: 0.5)
    syncer.run_forever(lambda: bool(results) and results[-1].ok and results[-1].remaining == 0,
                       on_round=results.append)
    assert collector_holds_each_once(collector, backlogged_gate.ids)
    assert backlogged_gate.store.queue_depth() == 0
    assert [t for m, t, _ in proxy.seen if m == "POST"][0] == "/v1/alerts"
    assert sum(r.alerts_sent for r in results) == BACKLOG // ALERT_EVERY
    assert all(r.next_attempt_in <= 2 for r in results if r.moved)  # delivering resets the backoff
    assert clock.now < 120  # simulated seconds: retries and short backoffs, not the 300 s cap
    assert sum(proxy.sends.values()) / BACKLOG < 2


def test_an_idle_gate_still_reports_in_every_few_minutes(collector_factory, gate, proxies):
    collector = collector_factory()
    proxy = proxy_for(proxies, collector)
    clock = FakeTime(0.0)
    syncer = gate.syncer(proxy.url, monotonic=clock, sleep=clock.sleep, lists_interval_s=3600)
    starts: list[float] = []
    syncer.run_forever(lambda: clock.now >= 500, on_round=lambda r: starts.append(clock.now))
    assert starts == [0, 240, 480]
    assert proxy.counts["/v1/heartbeat"] == 3 and proxy.counts["/v1/trustlist"] == 1
    assert collector.latest_heartbeat() is not None


def test_it_delivers_what_waits_and_stops_when_asked(collector_factory, gate):
    collector = collector_factory()
    ids = gate.add(make_records(50))
    results: list[RoundResult] = []
    clock = FakeTime()
    syncer = gate.syncer(collector.url, batch_size=20, monotonic=clock, sleep=clock.sleep)
    syncer.run_forever(lambda: bool(results) and results[-1].remaining == 0,
                       on_round=results.append)
    assert results[-1].ok and results[0].trust_updated
    assert collector_holds_each_once(collector, ids)


def test_records_that_arrive_later_start_a_round(collector_factory, gate):
    collector = collector_factory()
    clock = FakeTime(0.0)
    syncer = gate.syncer(collector.url, monotonic=clock, sleep=clock.sleep, lists_interval_s=3600)
    later: list[str] = []

    def stop() -> bool:
        if clock.now >= 10 and not later:
            later.extend(gate.add(make_records(5)))  # the kiosk records a few scans
        return clock.now >= 30

    syncer.run_forever(stop)
    assert later and collector_holds_each_once(collector, later)
