"""gate.health: the faults in force from the lists, the clock and the store, and checks that only look."""

from __future__ import annotations

import os
from pathlib import Path

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.config import Config, TrustConfig, VenueConfig
from gate.faults import FAULTS
from gate.health import state_faults
from tests.pki import NOW


def cfg(pki, **trust) -> Config:
    return Config(venue=VenueConfig(id="v", type="metro"), trust=TrustConfig(dir=pki.trust_dir, **trust))


def test_a_fresh_provisioned_gate_has_no_fault(pki):
    assert state_faults(pki.store(), TimeFloor(None), NOW, cfg(pki)) == []


def test_a_clock_below_the_floor_is_clock_untrusted(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW)
    assert state_faults(pki.store(), floor, NOW - 3600, cfg(pki)) == ["clock_untrusted"]


def test_stale_lists_are_judged_at_the_floor_when_the_clock_is_behind(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW + 40 * 86400)
    assert state_faults(pki.store(), floor, NOW, cfg(pki)) == ["clock_untrusted", "status_list_stale",
                                                              "trust_list_stale"]


def test_the_status_list_is_stale_after_status_max_age_h(pki):
    trust = pki.store()
    assert state_faults(trust, TimeFloor(None), NOW + 3 * 3600, cfg(pki, status_max_age_h=2)) == ["status_list_stale"]
    assert state_faults(trust, TimeFloor(None), NOW + 3 * 3600, cfg(pki, status_max_age_h=4)) == []


def test_no_lists_at_all(pki):
    for name in ("trustlist.json", "statuslist.json"):
        (pki.trust_dir / name).unlink()
    assert state_faults(pki.store(), TimeFloor(None), NOW, cfg(pki)) == ["status_list_missing", "trust_list_missing"]


def test_a_rebuilt_trust_cache_is_said(pki, tmp_path):
    state = tmp_path / "trust.db"
    state.write_bytes(os.urandom(8192))
    trust = TrustStore(pki.trust_dir, state)
    assert state_faults(trust, TimeFloor(None), NOW, cfg(pki)) == ["trust_cache_rebuilt"]


def test_every_code_is_in_the_vocabulary(pki):
    floor = TimeFloor(None)
    floor.raise_to(NOW + 40 * 86400)
    assert set(state_faults(pki.store(), floor, NOW, cfg(pki))) <= set(FAULTS)


def test_the_doctors_speaker_line_says_voice_off_once_and_logs_nothing(tmp_path, caplog):
    """A gate without a sound card: aplay (a stand-in that lists no card, as on such a gate) runs;
    the doctor's one line says what is off once, and probing logs no ERROR (the setup page refreshes
    the doctor every 30 s)."""
    import dataclasses

    from gate.config import StoreConfig
    from gate.health import check_speaker
    from gate.hardware.speaker import AplayPlayer
    from gate.voice import PromptCache

    aplay = tmp_path / "aplay"
    aplay.write_text("#!/bin/sh\necho '**** List of PLAYBACK Hardware Devices ****'\n")
    aplay.chmod(0o755)
    cfg = dataclasses.replace(Config(venue=VenueConfig(type="residential")),
                              store=StoreConfig(path=tmp_path / "scans.db"))
    player = AplayPlayer(PromptCache(tmp_path / "prompts", 80), aplay=str(aplay))
    with caplog.at_level("DEBUG"):
        [line] = check_speaker(cfg, player)
    assert line.level == "WARN" and line.details == {"fault": "speaker_missing"}
    assert line.message.lower().count("voice prompts off") == 1, line.message
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
