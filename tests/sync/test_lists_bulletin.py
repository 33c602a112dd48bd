"""The bulletin through a real sync round from the real collector: fetched with the lists, kept in
the trust folder for the kiosk, reported by the heartbeat; refused ones leave the one in force."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gate.codes import keys as keylib
from gate.config import Config, DeviceConfig, VenueConfig
from gate.directives.book import BULLETIN_FILE
from gate.directives.issue import sign_directive
from gate.directives.keys import directive_entry
from gate.directives.watch import BulletinWatch
from tests.collectorkit import write_signed
from tests.synckit import DEVICE_ID, proxy_for

ITINERARY_OFF = [{"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}]


def delegate(lists_dir: Path, anchor_key, directive_key, now: float) -> None:
    """The collector's trust list (v7) names `directive_key` as a directive key."""
    write_signed(lists_dir / "trustlist.json",
                 {"version": 7, "issued_at": 1764000000, "expires_at": 1766592000, "keys": [],
                  "revoked_kids": [],
                  "directive_keys": [directive_entry(directive_key.public_key(), int(now) - 1000,
                                                     int(now) + 10**6)]}, anchor_key)


def serve(lists_dir: Path, key, version: int, effective_at: int, note: str = "itinerary checks off",
          settings=ITINERARY_OFF) -> bytes:
    """Put a bulletin signed by `key` in the collector's lists folder (unchecked: it may be one the gate refuses)."""
    data = json.dumps({"version": version, "issued_at": effective_at - 60, "effective_at": effective_at,
                       "note": note, "settings": settings}).encode()
    (lists_dir / "bulletin.json").write_bytes(data)
    (lists_dir / "bulletin.json.sig").write_text(sign_directive(key, data))
    return data


def kiosk_config() -> Config:
    return Config(device=DeviceConfig(id=DEVICE_ID),
                  venue=VenueConfig(id="360102-012-north-gate", type="residential"))


def test_a_bulletin_is_fetched_kept_for_the_kiosk_and_reported(collector_factory, gate, proxies, lists_dir,
                                                               anchor_key):
    directive = keylib.generate("EdDSA")
    now = time.time()
    delegate(lists_dir, anchor_key, directive, now)
    served = serve(lists_dir, directive, 12, int(now) - 60)
    collector = collector_factory()
    proxy = proxy_for(proxies, collector)
    syncer = gate.syncer(proxy.url)

    result = syncer.round()
    assert result.ok and result.bulletin_updated and result.list_problems == []
    assert (gate.trust.trust_dir / BULLETIN_FILE).read_bytes() == served
    assert collector.latest_heartbeat()[1]["bulletin_version"] == 12
    # the kiosk, another process, finds it in the trust folder and decides under it
    now = time.time()
    book = BulletinWatch(gate.trust.trust_dir).refresh(gate.trust.trust_list, now)
    config, version = book.effective_config(kiosk_config(), now)
    assert (config.venue.itinerary_check, version) == (False, 12)

    later = len(proxy.answered)
    assert syncer.round(lists=True).ok
    assert ("/v1/bulletin", 304) in proxy.answered[later:]  # asked since 12: nothing newer


def test_a_bulletin_held_until_its_time_is_kept_but_not_reported_in_force(collector_factory, gate, lists_dir,
                                                                          anchor_key):
    directive = keylib.generate("EdDSA")
    now = time.time()
    delegate(lists_dir, anchor_key, directive, now)
    serve(lists_dir, directive, 3, int(now) + 3600)
    collector = collector_factory()
    assert gate.syncer(collector.url).round().bulletin_updated
    assert collector.latest_heartbeat()[1]["bulletin_version"] == 0


def test_a_bulletin_the_gate_refuses_leaves_the_one_in_force(collector_factory, gate, lists_dir, anchor_key):
    directive = keylib.generate("EdDSA")
    now = time.time()
    delegate(lists_dir, anchor_key, directive, now)
    kept = serve(lists_dir, directive, 12, int(now) - 60)
    collector = collector_factory()
    assert gate.syncer(collector.url).round().bulletin_updated

    for key, settings in ((anchor_key, ITINERARY_OFF),  # signed by the anchor, not a directive key
                          (keylib.generate("EdDSA"), ITINERARY_OFF),  # by a key the trust list does not name
                          (directive, [{"scope": {}, "set": {"venue.type": "metro"}}])):  # a key it may not set
        serve(lists_dir, key, 13, int(now) - 30, settings=settings)
        result = gate.syncer(collector.url).round()
        assert result.ok and not result.bulletin_updated
        assert any("bulletin from the collector refused" in p for p in result.list_problems)
        assert (gate.trust.trust_dir / BULLETIN_FILE).read_bytes() == kept
        assert collector.latest_heartbeat()[1]["bulletin_version"] == 12
