"""Bulletins on the collector: numbered above every version seen, built and checked by the gates'
code, signed, written as the pair GET /v1/bulletin serves; who a bulletin reaches, who reports it."""

from __future__ import annotations

import base64
import contextvars
import json
import threading
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.collector import bulletins
from gate.collector.lists import ListsDirectory
from gate.collector.models import AuditEntry
from gate.directives.bulletin import BulletinError

OFF = [{"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}]


@pytest.fixture
def lists(collector_server):
    with collector_server.app.activate():
        yield ListsDirectory(collector_server.lists_dir)


def test_the_published_pair_is_signed_by_the_key_over_the_exact_bytes(lists):
    key = Ed25519PrivateKey.generate()
    made = bulletins.publish(lists, key, 1764000000, 1764003600, "note", OFF)
    body = (lists.root / "bulletin.json").read_bytes()
    sig = base64.b64decode((lists.root / "bulletin.json.sig").read_text().strip())
    key.public_key().verify(sig, body)
    assert made.body == body and made.version == 1 and made.effective_at == 1764003600
    assert json.loads(body)["settings"] == OFF


def test_a_bulletin_a_gate_would_refuse_writes_nothing(lists):
    with pytest.raises(BulletinError, match="temperature.fever_c"):
        bulletins.publish(lists, Ed25519PrivateKey.generate(), 1, 2, "",
                          [{"scope": {}, "set": {"temperature.fever_c": 50.0}}])
    assert not (lists.root / "bulletin.json").exists() and not (lists.root / "bulletin.json.sig").exists()


def test_the_next_version_is_above_disk_audit_log_and_heartbeats(lists):
    assert bulletins.next_version(lists, []) == 1
    (lists.root / "bulletin.json").write_text(json.dumps({"version": 5}))
    assert bulletins.next_version(lists, []) == 6
    AuditEntry.objects.create(username="x", action="bulletin.publish", what={"version": 9}, address="")
    assert bulletins.next_version(lists, []) == 10
    seen = [bulletins.GateView("g", True, bulletin_version=12)]
    assert bulletins.next_version(lists, seen) == 13


def test_concurrent_publishers_never_share_a_version(lists):
    key = Ed25519PrivateKey.generate()
    made: list[int] = []

    def one() -> None:
        made.append(bulletins.publish(lists, key, 1, 2, "", OFF).version)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(one,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == [1, 2, 3, 4, 5, 6]
    assert json.loads((lists.root / "bulletin.json").read_bytes())["version"] == 6


def test_the_bulletin_in_force_and_a_broken_one(lists):
    assert bulletins.in_force(lists) == (None, "")
    bulletins.publish(lists, Ed25519PrivateKey.generate(), 1, 2, "n", OFF)
    current, problem = bulletins.in_force(lists)
    assert current is not None and current.version == 1 and problem == ""
    (lists.root / "bulletin.json.sig").unlink()
    assert "without a signature" in bulletins.in_force(lists)[1]


def gate(device_id: str, venue_id: str, venue_type: str, version: int | None = 0) -> bulletins.GateView:
    return bulletins.GateView(device_id, True, venue_id, venue_type, datetime.now(timezone.utc), version)


def test_reach_matches_each_gate_as_the_gate_would_and_later_entries_win():
    settings = bulletins.settings_of([
        {"scope": {"venue_types": ["residential"], "venue_id_prefixes": ["3601"]},
         "set": {"venue.itinerary_check": False, "temperature.fever_c": 37.3}},
        {"scope": {"device_ids": ["b"]}, "set": {"temperature.fever_c": 37.5}},
    ])
    seen = [gate("a", "360102", "residential"), gate("b", "360103", "residential"),
            gate("c", "440102", "residential"), gate("d", "360104", "metro")]
    reached = {r.gate.device_id: r.values for r in bulletins.reach(settings, seen)}
    assert reached == {"a": {"venue.itinerary_check": False, "temperature.fever_c": 37.3},
                       "b": {"venue.itinerary_check": False, "temperature.fever_c": 37.5},
                       "c": {}, "d": {}}


def test_reports_split_the_gates_by_the_version_their_heartbeat_reports():
    seen = [gate("a", "", "", 3), gate("b", "", "", 2), gate("c", "", "", None), gate("d", "", "", 4)]
    have, lacking = bulletins.reports(3, seen)
    assert [g.device_id for g in have] == ["a", "d"] and [g.device_id for g in lacking] == ["b", "c"]
