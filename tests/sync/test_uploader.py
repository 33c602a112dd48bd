"""The uploader: every pending alert ahead of the batches, oldest first, 413 halving; and with the
real collector, every urgent record an alert there exactly once, over a clean or a faulty link."""

from __future__ import annotations

import json

import pytest

from gate.sync import TOO_LARGE_ERROR
from tests.synckit import collector_holds_each_once, make_records, proxy_for


def _posts(proxy) -> list[str]:
    return [t for m, t, _ in proxy.seen if m == "POST"]


def test_every_pending_alert_goes_in_one_request_ahead_of_the_batches(collector_factory, gate,
                                                                      proxies):
    collector = collector_factory()
    ids = gate.add(make_records(20, alert_every=5))
    proxy = proxy_for(proxies, collector)
    result = gate.syncer(proxy.url, batch_size=100).round()

    assert result.ok and result.alerts_sent == 4
    assert [(m, t.split("?")[0]) for m, t, _ in proxy.seen] == [
        ("GET", "/v1/trustlist"), ("GET", "/v1/statuslist"), ("GET", "/v1/bulletin"),
        ("POST", "/v1/alerts"), ("POST", "/v1/scans"), ("POST", "/v1/heartbeat")]
    assert collector.alert_ids() == {ids[4], ids[9], ids[14], ids[19]}
    assert collector_holds_each_once(collector, ids)
    assert proxy.sends[ids[4]] == 2  # as an alert, then in its batch, stored once


def test_what_the_collector_newly_stored_is_counted_once_whichever_request_stored_it(
        collector_factory, gate):
    collector = collector_factory()
    gate.add(make_records(3, alert_every=3))  # three new records, one of them an alert
    result = gate.syncer(collector.url).round()
    assert result.summary().startswith("sync: 3 uploaded, 0 already there, 0 rejected, 1 alerts")


def test_an_alert_stored_in_one_round_is_not_counted_again_when_its_batch_goes_in_the_next(
        collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(4, alert_every=4))
    proxy = proxy_for(proxies, collector, plan={1: "503", 2: "503", 3: "503"}, retry_after="")
    syncer = gate.syncer(proxy.url)
    first = syncer.round()
    assert first.stopped_by == "unavailable" and first.uploaded == 1 and first.alerts_sent == 1
    second = syncer.round()
    assert second.ok and second.uploaded == 3 and second.duplicates == 0
    assert collector_holds_each_once(collector, ids)


def test_an_alert_request_too_large_is_halved(collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(8, alert_every=2))
    proxy = proxy_for(proxies, collector, plans={"/v1/alerts": {1: "413"}})
    result = gate.syncer(proxy.url, batch_size=100).round()
    assert result.ok and result.alerts_sent == 4 and result.rejected == 0
    assert _posts(proxy)[:3] == ["/v1/alerts"] * 3  # 4 refused, then 2 and 2
    assert collector.alert_ids() == {ids[1], ids[3], ids[5], ids[7]}


def test_a_lone_alert_still_too_large_is_rejected_and_kept(collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(3, alert_every=3))
    proxy = proxy_for(proxies, collector, plans={"/v1/alerts": {1: "413"}}, too_large_ids=[ids[2]])
    result = gate.syncer(proxy.url).round()
    assert result.ok and result.rejected == 1 and result.alerts_sent == 0
    assert [(r.id, e) for r, e in gate.store.rejected()] == [(ids[2], TOO_LARGE_ERROR)]
    assert collector.stored_count() == 2


def test_an_alert_the_collector_rejects_is_kept_and_not_sent_again(collector_factory, gate,
                                                                    proxies):
    collector = collector_factory()
    good = gate.add(make_records(2))
    bad = gate.add(make_records(1, start=1_795_000_100.0, decision="hold", venue_id="x\x00"))
    proxy = proxy_for(proxies, collector)
    result = gate.syncer(proxy.url).round()
    assert result.ok and result.rejected == 1 and result.uploaded == 2
    assert {r.id for r, _ in gate.store.rejected()} == set(bad)
    assert proxy.sends[bad[0]] == 1
    assert collector_holds_each_once(collector, good)


def test_a_round_stopped_between_batches_leaves_the_rest_queued(collector_factory, gate):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    sent = []
    syncer = gate.syncer(collector.url, batch_size=10)
    result = syncer.round(progress=sent.append, stop=lambda: len(sent) >= 2)
    assert result.ok and result.uploaded == 20 and result.remaining == 10
    assert gate.store.pending(100)[0].id == ids[20]  # oldest first


def test_a_batch_larger_than_the_collector_takes_is_halved_until_accepted(collector_factory,
                                                                         backlogged_gate):
    collector = collector_factory()  # the real collector takes at most 2000 records a batch
    syncer = backlogged_gate.syncer(collector.url, batch_size=5000)
    result = syncer.round()
    assert result.ok and result.remaining == 0 and result.rejected == 0
    assert collector_holds_each_once(collector, backlogged_gate.ids)


def test_a_single_record_still_too_large_is_rejected_once_and_not_resent(collector_factory, gate,
                                                                       proxies):
    collector = collector_factory()
    ids = gate.add(make_records(16))
    proxy = proxy_for(proxies, collector, too_large_ids=[ids[5]])
    syncer = gate.syncer(proxy.url, batch_size=8)

    result = syncer.round()
    assert result.ok and result.rejected == 1 and result.remaining == 0
    assert [(r.id, e) for r, e in gate.store.rejected()] == [(ids[5], TOO_LARGE_ERROR)]
    assert collector.stored_count() == 15
    uploads = proxy.uploads
    assert syncer.round().ok and proxy.uploads == uploads  # nothing left to send


def test_rejected_records_are_kept_marked_and_never_resent(collector_factory, gate):
    collector = collector_factory()
    good = gate.add(make_records(10))
    bad = gate.add(make_records(3, start=1_795_000_100.0, venue_id="north\x00gate"))
    syncer = gate.syncer(collector.url)

    result = syncer.round()
    assert result.ok and result.uploaded == 10 and result.rejected == 3 and result.remaining == 0
    assert {r.id: e for r, e in gate.store.rejected()} == {i: "nul_character" for i in bad}
    assert collector_holds_each_once(collector, good)
    again = syncer.round()
    assert again.uploaded == again.rejected == again.duplicates == 0
    assert gate.store.count() == 13  # kept for a technician to see




def test_the_collector_keeps_the_bulletin_version_each_record_was_decided_under(collector_factory, gate):
    import dataclasses

    collector = collector_factory()
    records = [dataclasses.replace(r, bulletin_version=v) for r, v in zip(make_records(2), (0, 12))]
    ids = gate.add(records)
    assert gate.syncer(collector.url).round().uploaded == 2
    assert [collector.stored_record(i)["bulletin_version"] for i in ids] == [0, 12]


# --- a day's backlog of urgent records (issue 19: 200 of 250 became alerts) -------------------

@pytest.mark.parametrize("fail_rate, drop_rate", [(0.0, 0.0), (0.2, 0.1)],
                         ids=["clean link", "20% failed, 10% answers dropped"])
def test_every_urgent_record_of_a_long_offline_day_is_an_alert_exactly_once(
        collector_factory, gate, proxies, tmp_path, fail_rate, drop_rate):
    alert_log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=alert_log)
    records = make_records(1500, alert_every=6)  # 250 holds among 1,500 scans
    gate.store.commit_many(records)
    ids = [r.id for r in records]
    urgent = {r.id for r in records if r.decision == "hold"}
    assert len(urgent) == 250
    proxy = proxy_for(proxies, collector, fail_rate=fail_rate, drop_rate=drop_rate, seed=19)
    syncer = gate.syncer(proxy.url, batch_size=200)
    for _ in range(60):
        result = syncer.round()
        if result.ok and result.remaining == 0:
            break
    assert result.ok and result.remaining == 0
    assert collector_holds_each_once(collector, ids)
    assert collector.alert_ids() == urgent  # shown on the alerts page: all 250, nothing else
    paged = [json.loads(line)["record"]["id"] for line in alert_log.read_text().splitlines()]
    assert sorted(paged) == sorted(urgent)  # logged and paged once each
    if not fail_rate:  # a clean link: every alert went on /v1/alerts before the first batch
        posts = _posts(proxy)
        first_batch = posts.index("/v1/scans")
        assert set(posts[first_batch:]) == {"/v1/scans", "/v1/heartbeat"}
        assert posts[:first_batch] == ["/v1/alerts"] * 2  # 200 and 50
        assert all(proxy.sends[i] == 2 for i in urgent)
    else:  # the link did fail both ways, and alerts went again after answers were lost
        assert {"flaky", "cut"} <= {action for _, _, action in proxy.seen}
        assert max(proxy.sends[i] for i in urgent) > 2


def test_an_alert_whose_answer_was_lost_goes_again_and_is_paged_once(collector_factory, gate,
                                                                     proxies, tmp_path):
    alert_log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=alert_log)
    ids = gate.add(make_records(6, alert_every=3))
    # the first alert request reaches the collector but its answer is cut; the retries fail
    proxy = proxy_for(proxies, collector, retry_after="",
                      plans={"/v1/alerts": {1: "cut", 2: "503", 3: "503"}})
    syncer = gate.syncer(proxy.url)
    first = syncer.round()
    assert first.stopped_by is not None and first.alerts_sent == 0
    assert collector.alert_ids() == {ids[2], ids[5]}  # stored, though the gate does not know
    second = syncer.round()
    assert second.ok and second.alerts_sent == 2 and second.remaining == 0
    assert proxy.sends[ids[2]] == 5  # three alert requests in round 1, one in round 2, one batch
    assert collector_holds_each_once(collector, ids)
    paged = [json.loads(line)["record"]["id"] for line in alert_log.read_text().splitlines()]
    assert paged == [ids[2], ids[5]]


def test_all_pending_alerts_go_before_any_batch_in_requests_of_the_batch_size(
        collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(12, alert_every=2))  # 6 alerts, batch size 4: 4 then 2
    proxy = proxy_for(proxies, collector)
    result = gate.syncer(proxy.url, batch_size=4).round()
    assert result.ok and result.alerts_sent == 6 and result.uploaded == 12
    assert _posts(proxy) == ["/v1/alerts", "/v1/alerts", "/v1/scans", "/v1/scans", "/v1/scans",
                             "/v1/heartbeat"]
    assert collector.alert_ids() == set(ids[1::2])
