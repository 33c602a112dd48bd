"""Sync against the real collector on loopback: every record delivered once, whatever goes wrong.

The collector is the real WSGI app under waitress (tests/collectorkit.py); faults come from
`FaultyProxy` in front of it (cut connections after the collector stored a batch, 503 with
Retry-After, 413) and from stopping and restarting the collector itself.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.codes.trust import TrustStore
from gate.pipeline import state_paths
from gate.record import Record
from gate.store import Store
from gate.sync import (
    BACKOFF_CAP_S, META_BACKOFF, META_CLOCK_OFFSET, TOO_LARGE_ERROR, RoundResult, Syncer,
    backoff_delay, parse_retry_after, sync_health,
)
from tests.synckit import (
    DEVICE_ID, FaultyProxy, bulk_commit, collector_holds_each_once, commit_all, copy_store, make_records,
    make_trust_dir,
)

BACKLOG = 3000
ALERT_EVERY = 1000  # three alerts in the backlog


@pytest.fixture(scope="session")
def backlog_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A closed store file holding BACKLOG records (3 of them alerts), made once per session."""
    path = tmp_path_factory.mktemp("backlog") / "scans.db"
    records = make_records(BACKLOG, alert_every=ALERT_EVERY)
    Store(path).close()
    ids = bulk_commit(path, records)
    with Store(path) as store:  # read back through the store's own API
        assert store.queue_depth() == BACKLOG and store.get(ids[-1]) == records[-1]
        assert len(store.pending_alerts(10)) == BACKLOG // ALERT_EVERY
    return path, ids


@dataclass
class Gate:
    """One gate's side: its record store, trust store and key, and Syncers made for it."""

    root: Path
    store: Store
    trust: TrustStore
    key: Ed25519PrivateKey
    ids: list[str] = field(default_factory=list)
    syncers: list[Syncer] = field(default_factory=list)

    def syncer(self, url: str, **overrides: Any) -> Syncer:
        options: dict[str, Any] = dict(
            url=url, device_id=DEVICE_ID, device_key=self.key, batch_size=250, timeout_s=5.0,
            sleep=lambda s: None, random=lambda: 0.5,
        )
        options.update(overrides)
        syncer = Syncer(self.store, self.trust, **options)
        self.syncers.append(syncer)
        return syncer

    def add(self, records: list[Record]) -> list[str]:
        ids = commit_all(self.store, records)
        self.ids += ids
        return ids


def _gate(root: Path, anchor: Ed25519PrivateKey, key: Ed25519PrivateKey,
          template: Path | None = None) -> Gate:
    store_path = root / "data" / "scans.db"
    if template is not None:
        copy_store(template, store_path)
    store = Store(store_path)
    trust = TrustStore(make_trust_dir(root / "trust", anchor), state_paths(store_path)[0])
    return Gate(root, store, trust, key)


@pytest.fixture
def gate(tmp_path: Path, anchor_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey) -> Iterator[Gate]:
    """A gate with an empty queue."""
    g = _gate(tmp_path / "gate", anchor_key, device_key)
    yield g
    for s in g.syncers:
        s.close()
    g.trust.close()
    g.store.close()


@pytest.fixture
def backlogged_gate(tmp_path: Path, anchor_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey,
                    backlog_template: tuple[Path, list[str]]) -> Iterator[Gate]:
    """A gate with BACKLOG records queued."""
    template, ids = backlog_template
    g = _gate(tmp_path / "gate", anchor_key, device_key, template)
    g.ids = list(ids)
    yield g
    for s in g.syncers:
        s.close()
    g.trust.close()
    g.store.close()


@pytest.fixture
def proxies() -> Iterator[list[FaultyProxy]]:
    made: list[FaultyProxy] = []
    yield made
    for p in made:
        p.close()


def proxy_for(proxies: list[FaultyProxy], collector: Any, **options: Any) -> FaultyProxy:
    p = FaultyProxy(("127.0.0.1", collector.server.port), **options)
    proxies.append(p)
    return p


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- delivery, exactly once -----------------------------------------------------------------


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_backlog_is_delivered_exactly_once_through_cuts_503_413_and_a_restart(
        db, request, collector_factory, backlogged_gate, proxies):
    url = request.getfixturevalue("postgres_db_url") if db == "postgresql" else None
    collector = collector_factory(url)
    proxy = proxy_for(proxies, collector, max_records=200, on_stop=collector.server.stop,
                      plan={2: "cut", 4: "503", 6: "stop"})
    syncer = backlogged_gate.syncer(proxy.url, batch_size=250)

    results: list[RoundResult] = []
    for _ in range(8):
        results.append(syncer.round())
        if not collector.server.running:
            collector.server.start()  # the collector comes back on the same port
        if results[-1].ok:
            break

    cut, unavailable, stopped, done = results
    assert cut.stopped_by == "network"  # the collector stored batch 2, the gate never heard
    assert unavailable.stopped_by == "unavailable" and unavailable.next_attempt_in >= 7
    assert stopped.stopped_by == "network"
    assert done.ok and done.remaining == 0
    assert proxy.seen.count(("POST", "/v1/scans", "413")) == 1  # 250 > 200: halved to 125 once
    assert collector_holds_each_once(collector, backlogged_gate.ids)
    assert backlogged_gate.store.queue_depth() == 0
    assert sum(r.alerts_sent for r in results) == BACKLOG // ALERT_EVERY
    # the batch whose answer was cut came back as duplicates, nothing was accepted twice
    assert sum(r.uploaded for r in results) < BACKLOG
    assert sum(r.uploaded + r.duplicates for r in results) >= BACKLOG


def test_nothing_is_marked_delivered_before_the_collector_names_it(collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: "cut"})
    syncer = gate.syncer(proxy.url, batch_size=10)

    first = syncer.round()
    assert first.stopped_by == "network" and first.uploaded == 10
    assert collector.db.count_records() == 20  # the collector stored the cut batch
    assert gate.store.queue_depth() == 20  # the gate still holds it as undelivered

    second = syncer.round()
    assert second.ok and second.duplicates == 10 and second.uploaded == 10
    assert collector_holds_each_once(collector, ids)


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_busy_or_failing_collector_stops_the_round_and_keeps_the_records(collector_factory, gate,
                                                                        proxies, status):
    collector = collector_factory()
    ids = gate.add(make_records(30))
    proxy = proxy_for(proxies, collector, plan={2: status}, retry_after="30")
    syncer = gate.syncer(proxy.url, batch_size=10, random=lambda: 0.0)
    result = syncer.round()
    assert result.stopped_by == "unavailable" and status in result.error
    assert result.uploaded == 10 and result.remaining == 20
    assert result.next_attempt_in == 30  # Retry-After, over a jitter of 0
    assert syncer.round().ok
    assert collector_holds_each_once(collector, ids)


def test_an_answer_slower_than_the_timeout_leaves_the_batch_queued(collector_factory, gate,
                                                                  proxies):
    collector = collector_factory()
    ids = gate.add(make_records(20))
    proxy = proxy_for(proxies, collector, plan={1: "slow"}, slow_s=1.0)
    syncer = gate.syncer(proxy.url, batch_size=10, timeout_s=0.3)
    result = syncer.round()
    assert result.stopped_by == "network" and "no answer within 0.3 s" in result.error
    assert result.remaining == 20  # the collector stored the batch; the gate never heard so
    second = syncer.round()
    assert second.ok and second.duplicates == 10 and second.uploaded == 10
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
    assert collector.db.count_records() == 15
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


def test_alerts_go_ahead_of_the_queue_after_the_lists_and_are_stored_once(collector_factory, gate,
                                                                        proxies):
    collector = collector_factory()
    ids = gate.add(make_records(20, alert_every=10))
    proxy = proxy_for(proxies, collector)
    result = gate.syncer(proxy.url, batch_size=100).round()

    assert result.ok and result.alerts_sent == 2
    assert [(m, t.split("?")[0]) for m, t, _ in proxy.seen] == [
        ("GET", "/v1/trustlist"), ("GET", "/v1/statuslist"),
        ("POST", "/v1/alerts"), ("POST", "/v1/alerts"), ("POST", "/v1/scans")]
    assert result.uploaded == 18 and result.duplicates == 2  # the alerts, stored once
    assert {a.id for a in collector.db.recent_alerts()} == {ids[9], ids[19]}
    assert collector_holds_each_once(collector, ids)


# --- backoff --------------------------------------------------------------------------------


def test_backoff_is_exponential_with_full_jitter_base_2_cap_300():
    assert [backoff_delay(n, lambda: 1.0) for n in range(1, 11)] == [
        2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_delay(5, lambda: 0.0) == 0.0
    assert backoff_delay(3, lambda: 0.25) == 2.0
    assert backoff_delay(10_000, lambda: 1.0) == BACKOFF_CAP_S


def test_retry_after_in_seconds_or_as_an_http_date():
    now = 1_795_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == pytest.approx(90)
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


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
    t = [1000.0]
    away = gate.syncer(closed_port_url(), random=lambda: 1.0, monotonic=lambda: t[0])
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


def test_run_forever_backs_off_while_the_collector_is_away(gate):
    gate.add(make_records(3))
    t = [0.0]
    rounds: list[float] = []

    def sleep(s: float) -> None:
        t[0] += s

    syncer = gate.syncer(closed_port_url(), random=lambda: 1.0, monotonic=lambda: t[0], sleep=sleep)
    syncer.run_forever(lambda: t[0] >= 60, on_round=lambda r: rounds.append(t[0]))
    assert rounds == [0, 2, 6, 14, 30]  # 2, 4, 8, 16 s apart; the next would be at 62


def test_run_forever_delivers_what_waits_and_stops_when_asked(collector_factory, gate):
    collector = collector_factory()
    ids = gate.add(make_records(50))
    results: list[RoundResult] = []
    syncer = gate.syncer(collector.url, batch_size=20)
    syncer.run_forever(lambda: bool(results) and results[-1].remaining == 0,
                       on_round=results.append, poll_s=0.05)
    assert results[-1].ok and results[0].trust_updated
    assert collector_holds_each_once(collector, ids)


# --- who the gate is: signatures, devices, clocks --------------------------------------------


def test_an_unknown_device_stops_uploads_keeps_everything_and_shows_on_the_health_check(
        collector_factory, gate):
    collector = collector_factory()
    gate.add(make_records(5))
    result = gate.syncer(collector.url, device_id="gate-nobody").round()
    assert result.stopped_by == "auth" and "gate collector add-device" in result.error
    assert gate.store.queue_depth() == 5 and collector.db.count_records() == 0
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
    collector.db.set_device_enabled(DEVICE_ID, False)
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
    assert collector.db.record(ids[0])["scanned_at"] == gate.store.get(ids[0]).scanned_at
    assert [m for m, _, _ in proxy.seen][:2] == ["GET", "GET"]  # the refused GET, then again

    # the next process signs with the learned offset from its first request
    seen = len(proxy.seen)
    again = gate.syncer(proxy.url, clock=lambda: time.time() + gate_ahead_s)
    assert again.round().ok and len(proxy.seen) - seen == 2  # trust list (304), status list


def test_a_skewed_collector_clock_is_followed_too(collector_factory, gate):
    collector = collector_factory(clock=lambda: time.time() + 4000)
    ids = gate.add(make_records(5))
    assert gate.syncer(collector.url).round().ok
    assert collector_holds_each_once(collector, ids)


# --- trust and status lists -----------------------------------------------------------------


def test_the_lists_are_fetched_and_applied_delta_after_full(collector_factory, gate):
    collector = collector_factory()
    syncer = gate.syncer(collector.url)
    first = syncer.round()
    assert first.ok and first.trust_updated and first.status_updated
    assert gate.trust.trust_version == 7 and gate.trust.status_version == 1040
    second = syncer.round()
    assert second.status_updated and not second.trust_updated
    assert gate.trust.status_version == 1043
    assert gate.trust.status_of("CN-JX", bytes.fromhex("00112233445566778899aabbccddeeff"))[0] == 2
    third = syncer.round()
    assert third.ok and not third.trust_updated and not third.status_updated

    # the kiosk, another process, sees the new lists after refresh()
    kiosk = TrustStore(gate.trust.trust_dir, state_paths(gate.store.path)[0])
    assert (kiosk.trust_version, kiosk.status_version) == (7, 1043)
    kiosk.close()


def _lists(root: Path, sign_list: Any, *, trust_version: int = 8, full_version: int = 1040,
           full_entries: list[dict[str, Any]] | None = None) -> Path:
    sign_list(root / "trustlist.json", {"version": trust_version, "issued_at": 1764000000,
                                        "expires_at": 1766592000, "keys": [], "revoked_kids": []})
    sign_list(root / "statuslist.json", {"version": full_version, "base_version": 0,
                                         "issued_at": 1764000000, "entries": full_entries or []})
    return root


def _apply(trust: TrustStore, anchor: Ed25519PrivateKey, kind: str, doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    sig = base64.b64encode(anchor.sign(body)).decode()
    (trust.apply_trust_list if kind == "trust" else trust.apply_status_list)(body, sig)


SUBJECT = "aa" * 16


def test_a_trust_list_failing_its_signature_is_refused_and_the_round_goes_on(
        collector_factory, gate, sign_list, anchor_key, tmp_path):
    lists = _lists(tmp_path / "lists", sign_list, trust_version=8)
    (lists / "trustlist.json.sig").write_text(base64.b64encode(
        Ed25519PrivateKey.generate().sign((lists / "trustlist.json").read_bytes())).decode())
    _apply(gate.trust, anchor_key, "trust", {"version": 5, "issued_at": 1763000000,
                                             "expires_at": 1766592000, "keys": [], "revoked_kids": []})
    collector = collector_factory(lists=lists)
    ids = gate.add(make_records(5))

    result = gate.syncer(collector.url).round()
    assert result.ok and result.uploaded == 5 and result.status_updated
    assert gate.trust.trust_version == 5
    assert any("trust list" in p and "signature" in p for p in result.list_problems)
    assert collector_holds_each_once(collector, ids)


def test_a_status_list_failing_its_signature_is_refused_and_the_round_goes_on(
        collector_factory, gate, sign_list, anchor_key, tmp_path):
    lists = _lists(tmp_path / "lists", sign_list, full_version=1040)
    sign_list(lists / "statuslist.d" / "1000-1040.json",
              {"version": 1040, "base_version": 1000, "issued_at": 1764000000, "entries": []})
    for name in ("statuslist.json.sig", "statuslist.d/1000-1040.json.sig"):
        (lists / name).write_text("AAAA" + (lists / name).read_text()[4:])  # a broken signature
    _apply(gate.trust, anchor_key, "status", {"version": 1000, "base_version": 0, "issued_at": 1,
                                              "entries": [{"iss": "CN-JX", "sub": SUBJECT,
                                                           "status": 2, "since": 1}]})
    collector = collector_factory(lists=lists)
    gate.add(make_records(5))

    result = gate.syncer(collector.url).round()
    assert result.ok and result.uploaded == 5 and result.trust_updated
    assert not result.status_updated and gate.trust.status_version == 1000
    assert gate.trust.status_of("CN-JX", bytes.fromhex(SUBJECT))[0] == 2
    assert len(result.list_problems) == 2  # the delta, then the full list asked for after it


def test_a_delta_on_the_wrong_base_is_refused_and_the_full_list_fetched(
        collector_factory, gate, sign_list, anchor_key, tmp_path):
    lists = _lists(tmp_path / "lists", sign_list, full_version=1040,
                   full_entries=[{"iss": "CN-JX", "sub": SUBJECT, "status": 1, "since": 5}])
    # named as a delta from 1035 but built on 1036: it must not be applied to 1035
    sign_list(lists / "statuslist.d" / "1035-1043.json",
              {"version": 1043, "base_version": 1036, "issued_at": 1764000000, "entries": []})
    _apply(gate.trust, anchor_key, "status", {"version": 1035, "base_version": 0, "issued_at": 1,
                                              "entries": []})
    collector = collector_factory(lists=lists)
    gate.add(make_records(3))

    result = gate.syncer(collector.url).round()
    assert result.ok and result.uploaded == 3
    assert result.status_updated and gate.trust.status_version == 1040
    assert gate.trust.status_of("CN-JX", bytes.fromhex(SUBJECT))[0] == 1
    assert len(result.list_problems) == 1 and "base 1036" in result.list_problems[0]


def test_no_lists_on_the_collector_do_not_stop_uploads(collector_factory, gate, tmp_path):
    collector = collector_factory(lists=tmp_path / "empty-lists")
    ids = gate.add(make_records(3))
    result = gate.syncer(collector.url).round()
    assert result.ok and not result.trust_updated and not result.status_updated
    assert collector_holds_each_once(collector, ids)


# --- retention --------------------------------------------------------------------------------


def test_after_a_round_old_delivered_records_go_and_undelivered_ones_stay(collector_factory, gate):
    collector = collector_factory()
    now = time.time()
    old = gate.add(make_records(5, start=now - 40 * 86400))
    old_bad = gate.add(make_records(2, start=now - 39 * 86400, venue_id="x\x00"))
    recent = gate.add(make_records(5, start=now - 86400))
    result = gate.syncer(collector.url, retention_days=28).round()
    assert result.ok and result.pruned == 5
    assert [gate.store.get(i) for i in old] == [None] * 5
    assert all(gate.store.get(i) is not None for i in old_bad + recent)


def test_a_nearly_full_disk_deletes_the_oldest_delivered_first_and_says_so(collector_factory, gate):
    collector = collector_factory()
    delivered = gate.add(make_records(5))
    syncer = gate.syncer(collector.url)
    assert syncer.round().ok
    waiting = gate.add(make_records(3, start=1_795_000_500.0))

    away = gate.syncer(closed_port_url(), min_free_bytes=1 << 62)  # never enough room
    result = away.round()
    assert result.stopped_by == "network" and result.pruned == 5
    assert [gate.store.get(i) for i in delivered] == [None] * 5
    assert all(gate.store.get(i) is not None for i in waiting)
    assert sync_health(gate.store)["free_space_pruned"]["deleted"] == 5
