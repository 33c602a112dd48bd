"""gate.health: the doctor's checks, which only look."""

from __future__ import annotations

import dataclasses

from gate.config import Config, StoreConfig, VenueConfig
from gate.hardware.speaker import AplayPlayer
from gate.health import check_speaker
from gate.voice import PromptCache


def test_the_doctors_speaker_line_says_voice_off_once_and_logs_nothing(tmp_path, caplog):
    """A gate without a sound card: aplay (a stand-in that lists no card, as on such a gate) runs;
    the doctor's one line says what is off once, and probing logs no ERROR (the setup page refreshes
    the doctor every 30 s)."""
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
