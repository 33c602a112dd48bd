"""gate.state.faults_now: the faults in force from the lists and the clock, worked out once."""

from __future__ import annotations

import os
from pathlib import Path

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.config import Config, TrustConfig, VenueConfig
from gate.faults import FAULTS
from gate.state.faults_now import list_faults
from tests.pki import NOW


def cfg(pki, **trust) -> Config:
    return Config(venue=VenueConfig(id="v", type="metro"), trust=TrustConfig(dir=pki.trust_dir, **trust))


def test_a_fresh_provisioned_gate_has_no_fault(pki):
    assert list_faults(pki.store(), TimeFloor(None), NOW, cfg(pki)) == []


def test_a_clock_below_the_floor_is_clock_untrusted(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW)
    assert list_faults(pki.store(), floor, NOW - 3600, cfg(pki)) == ["clock_untrusted"]


def test_stale_lists_are_judged_at_the_floor_when_the_clock_is_behind(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW + 40 * 86400)
    assert list_faults(pki.store(), floor, NOW, cfg(pki)) == ["clock_untrusted", "status_list_stale",
                                                              "trust_list_stale"]


def test_the_status_list_is_stale_after_status_max_age_h(pki):
    trust = pki.store()
    assert list_faults(trust, TimeFloor(None), NOW + 3 * 3600, cfg(pki, status_max_age_h=2)) == ["status_list_stale"]
    assert list_faults(trust, TimeFloor(None), NOW + 3 * 3600, cfg(pki, status_max_age_h=4)) == []


def test_no_lists_at_all(pki):
    for name in ("trustlist.json", "statuslist.json"):
        (pki.trust_dir / name).unlink()
    assert list_faults(pki.store(), TimeFloor(None), NOW, cfg(pki)) == ["status_list_missing", "trust_list_missing"]


def test_a_rebuilt_trust_cache_is_said(pki, tmp_path):
    state = tmp_path / "trust.db"
    state.write_bytes(os.urandom(8192))
    trust = TrustStore(pki.trust_dir, state)
    assert list_faults(trust, TimeFloor(None), NOW, cfg(pki)) == ["trust_cache_rebuilt"]


def test_every_code_is_in_the_vocabulary(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW + 40 * 86400)
    assert set(list_faults(pki.store(), floor, NOW, cfg(pki))) <= set(FAULTS)
