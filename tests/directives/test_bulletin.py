"""A bulletin is verified whole under a directive key, and sets only what it may."""

import json

import pytest

from gate.config import loads_config
from gate.directives.bulletin import BulletinError, apply_settings, parse_bulletin, verify_bulletin
from tests.directives.conftest import bulletin_bytes, sign
from tests.pki import NOW


def test_signed_by_a_directive_key_it_is_accepted(trust_list, directive_key):
    data = bulletin_bytes(version=3)
    bulletin = verify_bulletin(data, sign(directive_key, data), trust_list, NOW)
    assert bulletin.version == 3 and bulletin.body == data


def test_signed_by_an_issuer_key_it_is_refused(trust_list, dpki):
    data = bulletin_bytes()
    issuer_sig = sign(dpki.jx.private_key, data)
    with pytest.raises(BulletinError, match="directive key"):
        verify_bulletin(data, issuer_sig, trust_list, NOW)


def test_signed_by_the_anchor_it_is_refused(trust_list, dpki):
    data = bulletin_bytes()
    with pytest.raises(BulletinError, match="directive key"):
        verify_bulletin(data, dpki.sign(data), trust_list, NOW)


def test_a_changed_byte_breaks_the_signature(trust_list, directive_key):
    data = bulletin_bytes()
    sig = sign(directive_key, data)
    with pytest.raises(BulletinError):
        verify_bulletin(data.replace(b"false", b"true "), sig, trust_list, NOW)


def test_no_trust_list_no_bulletin(directive_key):
    data = bulletin_bytes()
    with pytest.raises(BulletinError, match="no trust list"):
        verify_bulletin(data, sign(directive_key, data), None, NOW)


@pytest.mark.parametrize("setting, why", [
    ({"scope": {}, "set": {"venue.type": "metro"}}, "may not set"),
    ({"scope": {}, "set": {"collector.url": "http://evil"}}, "may not set"),
    ({"scope": {}, "set": {"temperature.fever_c": 45.0}}, "not allowed"),
    ({"scope": {}, "set": {"venue.itinerary_check": "no"}}, "not allowed"),
    ({"scope": {"venue_kind": ["x"]}, "set": {"venue.strict_clock": True}}, "unknown key"),
    ({"scope": {"venue_types": ["castle"]}, "set": {"venue.strict_clock": True}}, "unknown type"),
    ({"scope": {}, "set": {}}, "non-empty"),
])
def test_one_bad_entry_refuses_the_whole_bulletin(setting, why):
    good = {"scope": {}, "set": {"venue.itinerary_check": False}}
    with pytest.raises(BulletinError, match=why):
        parse_bulletin(bulletin_bytes(settings=[good, setting]))


@pytest.mark.parametrize("data", [b"", b"[]", b"{", json.dumps({"version": -1}).encode(), b"[" * 100000])
def test_garbage_is_one_line(data):
    with pytest.raises(BulletinError) as err:
        parse_bulletin(data)
    assert "\n" not in str(err.value)


def test_scope_keys_must_all_match_and_later_entries_win():
    bulletin = parse_bulletin(bulletin_bytes(settings=[
        {"scope": {}, "set": {"temperature.fever_c": 37.5}},
        {"scope": {"venue_types": ["residential"], "venue_id_prefixes": ["3601"]},
         "set": {"venue.itinerary_check": False, "temperature.fever_c": 37.8}},
        {"scope": {"device_ids": ["gate-b"]}, "set": {"venue.strict_clock": True}},
    ]))
    assert bulletin.settings_for("gate-a", "360102-x", "residential") == {
        "temperature.fever_c": 37.8, "venue.itinerary_check": False}
    assert bulletin.settings_for("gate-a", "440102-x", "residential") == {"temperature.fever_c": 37.5}
    assert bulletin.settings_for("gate-b", "440102-x", "metro") == {"temperature.fever_c": 37.5,
                                                                   "venue.strict_clock": True}


def test_settings_win_over_the_file(tmp_path):
    cfg = loads_config('[device]\nid = "g"\n[venue]\nid = "v"\ntype = "metro"\n', tmp_path / "gate.toml")
    changed = apply_settings(cfg, {"venue.itinerary_check": False, "temperature.fever_c": 37.6})
    assert (changed.venue.itinerary_check, changed.temperature.fever_c) == (False, 37.6)
    assert cfg.venue.itinerary_check is True and changed.venue.type == "metro"
