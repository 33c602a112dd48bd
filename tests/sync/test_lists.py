"""The list fetcher: trust and status lists on a process's first round, then when due, 304 when unchanged."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.codes.trust import TrustStore
from gate.state.paths import state_paths
from tests.synckit import FakeTime, collector_holds_each_once, make_records, proxy_for


def _paths(proxy: Any, since: int = 0) -> list[str]:
    return [t.split("?")[0] for _, t, _ in proxy.seen[since:]]


def test_the_lists_are_fetched_and_applied_delta_after_full(collector_factory, gate):
    collector = collector_factory()
    syncer = gate.syncer(collector.url, lists_interval_s=300)
    first = syncer.round()
    assert first.ok and first.trust_updated and first.status_updated and first.lists_fetched
    assert gate.trust.trust_version == 7 and gate.trust.status_version == 1040
    second = syncer.round(lists=True)
    assert second.status_updated and not second.trust_updated
    assert gate.trust.status_version == 1043
    assert gate.trust.status_of("CN-JX", bytes.fromhex("00112233445566778899aabbccddeeff"))[0] == 2
    third = syncer.round(lists=True)
    assert third.ok and not third.trust_updated and not third.status_updated

    # the kiosk, another process, sees the new lists after refresh()
    kiosk = TrustStore(gate.trust.trust_dir, state_paths(gate.store.path)[0])
    assert (kiosk.trust_version, kiosk.status_version) == (7, 1043)
    kiosk.close()


def test_lists_are_due_on_the_first_round_then_every_interval_and_unchanged_cost_a_304(
        collector_factory, gate, proxies):
    collector = collector_factory()
    proxy = proxy_for(proxies, collector)
    clock = FakeTime()
    syncer = gate.syncer(proxy.url, lists_interval_s=300, monotonic=clock)
    assert syncer.round().lists_fetched
    assert _paths(proxy) == ["/v1/trustlist", "/v1/statuslist", "/v1/bulletin", "/v1/heartbeat"]

    seen = len(proxy.seen)
    clock.now += 299
    assert not syncer.round().lists_fetched
    assert _paths(proxy, seen) == ["/v1/heartbeat"]

    seen = len(proxy.seen)
    clock.now += 1
    assert syncer.round().lists_fetched and syncer.round(lists=True).ok  # delta 1040 -> 1043 first
    later = len(proxy.answered)
    clock.now += 300
    assert syncer.round().lists_fetched
    # both unchanged: the trust list asked with its ETag, the status list since the version in force;
    # this collector has no bulletin (404), which is no failure
    assert proxy.answered[later:] == [("/v1/trustlist", 304), ("/v1/statuslist", 304),
                                      ("/v1/bulletin", 404), ("/v1/heartbeat", 200)]
    assert gate.trust.status_version == 1043 and gate.trust.trust_version == 7


def test_a_list_that_fails_to_come_is_logged_the_uploads_go_on_and_it_is_due_again(
        collector_factory, gate, proxies):
    collector = collector_factory()
    ids = gate.add(make_records(5))
    failing = {1: "503", 2: "503", 3: "503"}
    proxy = proxy_for(proxies, collector, retry_after="", plans={"/v1/trustlist": failing})
    clock = FakeTime()
    syncer = gate.syncer(proxy.url, monotonic=clock)
    first = syncer.round()
    assert first.ok and first.uploaded == 5 and not first.lists_fetched
    assert len(first.list_problems) == 1 and "trust list not fetched" in first.list_problems[0]
    assert collector_holds_each_once(collector, ids)

    second = syncer.round()  # no time has passed: due again because it failed
    assert second.lists_fetched and second.trust_updated and gate.trust.trust_version == 7


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


