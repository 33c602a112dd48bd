"""A bulletin may name another shipped rule set (directives.md, `credentials.rule_set`); a name the
gate does not ship refuses the whole bulletin."""

from __future__ import annotations

import dataclasses

import pytest

from gate.config import Config, CredentialsConfig, DeviceConfig, VenueConfig
from gate.directives.bulletin import BulletinError, apply_settings, parse_bulletin
from tests.directives.conftest import bulletin_bytes


def _config() -> Config:
    return Config(device=DeviceConfig(id="g-1"), venue=VenueConfig(id="v-1", type="residential"))


def test_a_bulletin_sets_the_rule_set_to_a_shipped_one():
    bulletin = parse_bulletin(bulletin_bytes(settings=[{"scope": {}, "set": {"credentials.rule_set": "special_place"}}]))
    values = bulletin.settings[0].values
    assert apply_settings(_config(), values).credentials == CredentialsConfig(rule_set="special_place", country="CN")


@pytest.mark.parametrize("name", ["castle", "../metro", 3])
def test_a_rule_set_the_gate_does_not_ship_refuses_the_bulletin(name):
    with pytest.raises(BulletinError, match="not allowed"):
        parse_bulletin(bulletin_bytes(settings=[{"scope": {}, "set": {"credentials.rule_set": name}}]))


def test_the_country_is_the_gates_own_not_a_bulletins():
    with pytest.raises(BulletinError, match="may not set"):
        parse_bulletin(bulletin_bytes(settings=[{"scope": {}, "set": {"credentials.country": "DE"}}]))
    assert dataclasses.replace(_config()).credentials.country == "CN"
