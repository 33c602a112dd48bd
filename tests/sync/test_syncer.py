"""A sync round against the real collector on loopback: every record delivered once, whatever goes wrong.

The collector is the real WSGI app under waitress (tests/collectorkit.py); faults come from
`FaultyProxy` in front of it (answers cut after the collector stored a batch, 503 with and
without Retry-After, 413, answers that drip, never end or never come, a flaky link) and from
stopping and restarting the collector itself.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.sync import META_CLOCK_OFFSET, RoundResult, sync_health
from tests.synckit import (
    ALERT_EVERY, BACKLOG, FakeTime, FaultyProxy, collector_holds_each_once, make_records, proxy_for,
)


# --- delivery, exactly once -----------------------------------------------------------------


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_backlog_is_delivered_exactly_once_through_cuts_503_413_and_a_restart(
        db, request, collector_factory, backlogged_gate, proxies):
    url = request.getfixturevalue("postgres_db_url") if db == "postgresql" else None
    collector = collector_factory(url)
    proxy = proxy_for(proxies, collector, max_records=200, on_stop=collector.server.stop,
                      plan={2: "cut", 3: "cut", 4: "cut", 6: "503", 8: "stop"})
    syncer = backlogged_gate.syncer(proxy.url, batch_size=250)

    results: list[RoundResult] = []
    for _ in range(8):
        results.append(syncer.round())
        if not collector.server.running:
            collector.server.start()  # the collector comes back on the same port
        if results[-1].ok:
            break

    cut, unavailable, stopped, done = results
    assert cut.stopped_by == "network"  # batch 2 stored, its answer cut three times running
    assert unavailable.stopped_by == "unavailable" and unavailable.next_attempt_in >= 7
    assert stopped.stopped_by == "network"
    assert done.ok and done.remaining == 0
    assert proxy.seen.count(("POST", "/v1/scans", "413")) == 1  # 250 > 200: halved to 125 once
    assert collector_holds_each_once(collector, backlogged_gate.ids)
    assert backlogged_gate.store.queue_depth() == 0
    assert sum(r.alerts_sent for r in results) == BACKLOG // ALERT_EVERY
    # each record counted once: stored, or (the batch whose answers were cut) already there
    assert sum(r.duplicates for r in results) == 125
    assert sum(r.uploaded for r in results) == BACKLOG - 125


def test_a_cut_answer_is_sent_again_within_the_round_and_comes_back_as_duplicates(
        collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: "cut"})
    result = gate.syncer(proxy.url, batch_size=10).round()
    assert result.ok and result.retries == 1
    assert result.uploaded == 20 and result.duplicates == 10 and result.remaining == 0
    assert proxy.uploads == 4
    assert collector_holds_each_once(collector, ids)


def test_nothing_is_marked_delivered_before_the_collector_names_it(collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: "cut", 3: "cut", 4: "cut"})
    syncer = gate.syncer(proxy.url, batch_size=10)

    first = syncer.round()
    assert first.stopped_by == "network" and first.uploaded == 10
    assert collector.stored_count() == 20  # the collector stored the cut batch
    assert gate.store.queue_depth() == 20  # the gate still holds it as undelivered

    second = syncer.round()
    assert second.ok and second.duplicates == 10 and second.uploaded == 10
    assert collector_holds_each_once(collector, ids)


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_a_transient_failure_is_tried_twice_more_after_a_jittered_pause(collector_factory, gate,
                                                                       proxies, status):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: status, 3: status}, retry_after="")
    clock = FakeTime()
    result = gate.syncer(proxy.url, batch_size=10, random=lambda: 0.25, sleep=clock.sleep).round()
    assert result.ok and result.retries == 2 and result.uploaded == 30
    assert clock.slept == [0.5, 0.5]  # full jitter in [0, 2 s]: 0.25 of 2 s
    assert collector_holds_each_once(collector, ids)


def test_three_failures_in_a_row_stop_the_round_and_keep_the_records(collector_factory, gate,
                                                                    proxies):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: "503", 3: "503", 4: "503"}, retry_after="")
    syncer = gate.syncer(proxy.url, batch_size=10)
    result = syncer.round()
    assert result.stopped_by == "unavailable" and "503" in result.error
    assert result.uploaded == 10 and result.remaining == 20 and result.retries == 2
    assert syncer.round().ok
    assert collector_holds_each_once(collector, ids)


def test_a_short_retry_after_is_waited_out_within_the_round(collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(20))
    proxy = proxy_for(proxies, collector, plan={1: "503"}, retry_after="4")
    clock = FakeTime()
    result = gate.syncer(proxy.url, batch_size=10, sleep=clock.sleep).round()
    assert result.ok and clock.slept == [4.0]
    assert collector_holds_each_once(collector, ids)


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_a_long_retry_after_stops_the_round_at_once_and_sets_the_next(collector_factory, gate,
                                                                     proxies, status):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: status}, retry_after="30")
    syncer = gate.syncer(proxy.url, batch_size=10, random=lambda: 0.0)
    result = syncer.round()
    assert result.stopped_by == "unavailable" and status in result.error
    assert result.uploaded == 10 and result.remaining == 20 and result.retries == 0
    assert result.next_attempt_in == 30  # Retry-After, over a jitter of 0
    assert syncer.round().ok
    assert collector_holds_each_once(collector, ids)


def test_the_collector_stopped_mid_round_then_restarted(collector_factory, backlogged_gate):
    collector = collector_factory()
    syncer = backlogged_gate.syncer(collector.url, batch_size=500)
    batches = []

    def stop_after_two(n: int) -> None:
        batches.append(n)
        if len(batches) == 2:
            collector.server.stop()

    first = syncer.round(progress=stop_after_two)
    assert first.stopped_by == "network" and "/v1/scans" in first.error
    assert first.remaining == BACKLOG - 1000
    collector.server.start()
    second = syncer.round()
    assert second.ok and second.remaining == 0
    assert collector_holds_each_once(collector, backlogged_gate.ids)


def test_thousands_through_a_flaky_link_in_once_rounds_each_delivered_once(
        collector_factory, backlogged_gate, proxies):
    collector = collector_factory()
    proxy = proxy_for(proxies, collector, fail_rate=0.2, drop_rate=0.1, seed=7)
    syncer = backlogged_gate.syncer(proxy.url, batch_size=250)
    results = []
    while not (results and results[-1].ok) and len(results) < 10:
        results.append(syncer.round())
    assert results[-1].ok and results[-1].remaining == 0
    assert collector_holds_each_once(collector, backlogged_gate.ids)
    assert sum(r.uploaded + r.duplicates for r in results) == BACKLOG  # each counted once
    posts = [t for m, t, _ in proxy.seen if m == "POST"]
    assert posts[0] == "/v1/alerts"  # alerts first, the three of them in one request
    assert proxy.sends[backlogged_gate.ids[ALERT_EVERY - 1]] >= 2  # as an alert, then in its batch
    assert sum(proxy.sends.values()) / BACKLOG < 2


# --- peers that hold the gate: drips, endless answers, silence -------------------------------


@pytest.mark.parametrize("peer", ["drip", "drip-body", "drip-head", "huge", "huge-declared", "silent"])
def test_a_peer_that_holds_the_answer_ends_the_round_with_nothing_marked_then_the_next_goes_on(
        collector_factory, gate, proxies, peer):
    collector = collector_factory()
    ids = gate.add(make_records(20))
    action = "huge" if peer == "huge-declared" else peer
    proxy = proxy_for(proxies, collector, plan={1: action, 2: action, 3: action},
                      huge_declared=peer == "huge-declared", drip_s=0.02)
    syncer = gate.syncer(proxy.url, batch_size=10, timeout_s=0.5)

    first = syncer.round()
    assert first.stopped_by == "network" and "/v1/scans" in first.error
    assert ("within 0.5 s" in first.error) == peer.startswith(("drip", "silent"))
    assert ("bytes allowed" in first.error) == peer.startswith("huge")
    assert first.uploaded == first.duplicates == 0 and first.remaining == 20
    assert gate.store.queue_depth() == 20  # nothing marked delivered

    second = syncer.round()
    assert second.ok and second.remaining == 0
    assert collector_holds_each_once(collector, ids)


def test_a_heartbeat_that_is_never_answered_does_not_hold_the_round(collector_factory, gate,
                                                                   proxies):
    collector = collector_factory()
    ids = gate.add(make_records(5))
    proxy = proxy_for(proxies, collector, plans={"/v1/heartbeat": {1: "silent", 2: "silent",
                                                                  3: "silent"}})
    result = gate.syncer(proxy.url, timeout_s=0.5).round()
    assert result.ok and not result.heartbeat_sent
    assert collector_holds_each_once(collector, ids)


# --- who the gate is: signatures, devices, clocks --------------------------------------------


def test_an_unknown_device_stops_uploads_keeps_everything_and_shows_on_the_health_check(
        collector_factory, gate):
    collector = collector_factory()
    gate.add(make_records(5))
    result = gate.syncer(collector.url, device_id="gate-nobody").round()
    assert result.stopped_by == "auth" and "gate collector add-device" in result.error
    assert gate.store.queue_depth() == 5 and collector.stored_count() == 0
    problem = sync_health(gate.store)["problem"]
    assert problem["status"] == 401 and problem["error"] == "unknown_device"


def test_a_bad_signature_shows_until_a_later_round_succeeds(collector_factory, gate):
    collector = collector_factory()
    ids = gate.add(make_records(5))
    wrong_key = gate.syncer(collector.url, device_key=Ed25519PrivateKey.generate())
    result = wrong_key.round()
    assert result.stopped_by == "auth" and "device.key" in result.error
    assert sync_health(gate.store)["problem"]["error"] == "bad_signature"
    assert gate.store.queue_depth() == 5

    fixed = gate.syncer(collector.url)
    assert fixed.round().ok
    assert sync_health(gate.store)["problem"] is None
    assert collector_holds_each_once(collector, ids)


def test_a_disabled_device_is_refused_with_403(collector_factory, gate):
    collector = collector_factory()
    collector.disable_device()
    gate.add(make_records(2))
    result = gate.syncer(collector.url).round()
    assert result.stopped_by == "auth" and "disabled" in result.error
    assert sync_health(gate.store)["problem"]["status"] == 403
    assert gate.store.queue_depth() == 2


@pytest.mark.parametrize("gate_ahead_s", [5000, -5000])
def test_a_skewed_gate_clock_learns_the_offset_for_signing_only(collector_factory, gate, proxies,
                                                               gate_ahead_s):
    collector = collector_factory()
    ids = gate.add(make_records(5))
    proxy = proxy_for(proxies, collector)
    syncer = gate.syncer(proxy.url, clock=lambda: time.time() + gate_ahead_s)
    assert syncer.round().ok
    assert syncer.clock_offset_s == pytest.approx(-gate_ahead_s, abs=5)
    assert gate.store.meta_get(META_CLOCK_OFFSET) == pytest.approx(-gate_ahead_s, abs=5)
    assert collector_holds_each_once(collector, ids)
    assert collector.stored_record(ids[0])["scanned_at"] == gate.store.get(ids[0]).scanned_at
    assert [m for m, _, _ in proxy.seen][:2] == ["GET", "GET"]  # the refused GET, then again

    # the next process signs with the learned offset from its first request
    seen = len(proxy.seen)
    again = gate.syncer(proxy.url, clock=lambda: time.time() + gate_ahead_s)
    assert again.round().ok and [t.split("?")[0] for _, t, _ in proxy.seen[seen:]] == [
        "/v1/trustlist", "/v1/statuslist", "/v1/bulletin", "/v1/heartbeat"]  # each signed right the first time


def test_a_skewed_collector_clock_is_followed_too(collector_factory, gate):
    collector = collector_factory(clock=lambda: time.time() + 4000)
    ids = gate.add(make_records(5))
    assert gate.syncer(collector.url).round().ok
    assert collector_holds_each_once(collector, ids)
