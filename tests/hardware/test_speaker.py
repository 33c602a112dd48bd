"""The speaker: plays each prompt on its own thread, a new prompt cuts the old, a missing sound
card is a fault and never a crash; real espeak-ng WAVs played by real aplay where installed."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from gate.config import VoiceConfig
from gate.hardware.speaker import AplayPlayer, RecordingPlayer, Speaker, open_speaker
from gate.voice import Line, PromptCache

HAS_ESPEAK = shutil.which("espeak-ng") is not None
HAS_APLAY = shutil.which("aplay") is not None
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed: apt-get install espeak-ng "
                                  "(scripts/install-system-deps.sh)")
needs_aplay = pytest.mark.skipif(not HAS_APLAY, reason="aplay is not installed: apt-get install alsa-utils "
                                 "(scripts/install-system-deps.sh)")
GO, WAIT = Line("请通行", "zh"), Line("请在原地等候工作人员", "zh")


def has_sound_card() -> bool:
    return HAS_APLAY and b"card " in subprocess.run(["aplay", "-l"], capture_output=True).stdout


def test_the_speaker_plays_lines_in_order_on_its_own_thread():
    player = RecordingPlayer()
    speaker = Speaker(player)
    speaker.say([GO, Line("Please go through", "en")])
    assert speaker.wait_idle(5)
    assert player.texts == ["请通行", "Please go through"]
    speaker.close()


def test_say_returns_while_the_prompt_is_still_playing():
    player = RecordingPlayer(blocking=True)
    speaker = Speaker(player)
    speaker.say([GO])  # returns at once although the player holds the line
    assert player.started.wait(5)
    assert not speaker.wait_idle(0)
    player.release()
    assert speaker.wait_idle(5)
    speaker.close()


def test_a_new_prompt_cuts_the_one_still_playing():
    player = RecordingPlayer(blocking=True)
    speaker = Speaker(player)
    speaker.say([WAIT, Line("Please wait here for the attendant", "en")])
    assert player.started.wait(5)
    player.started.clear()
    speaker.say([GO])  # the next person: the rest of the old prompt is dropped
    assert player.started.wait(5)
    player.release()
    assert speaker.wait_idle(5)
    assert player.texts == ["请在原地等候工作人员", "请通行"]
    speaker.close()


def test_a_speaker_not_fitted_says_nothing_and_closes_twice():
    speaker = Speaker(None)
    assert not speaker.fitted and speaker.fault is None
    speaker.say([GO])
    assert speaker.wait_idle(0)
    speaker.close()
    speaker.close()


def test_closing_while_playing_stops_and_is_safe_twice():
    player = RecordingPlayer(blocking=True)
    speaker = Speaker(player)
    speaker.say([GO])
    assert player.started.wait(5)
    speaker.close()
    speaker.close()
    speaker.say([WAIT])
    assert player.texts == ["请通行"]


def test_voice_off_or_volume_zero_is_a_speaker_not_fitted(tmp_path):
    assert not open_speaker(VoiceConfig(enabled=False), tmp_path).fitted
    assert not open_speaker(VoiceConfig(volume=0), tmp_path).fitted
    assert open_speaker(VoiceConfig(), tmp_path, simulated=True).player.kind == "simulated"


# -- a missing sound card ----------------------------------------------------------------------


def test_a_missing_sound_card_is_the_fault_speaker_missing_and_nothing_is_played():
    player = RecordingPlayer(missing=True)
    speaker = Speaker(player)
    assert speaker.fault == "speaker_missing" and "no sound card" in speaker.problem
    speaker.say([GO])  # no exception, nothing played
    assert player.played == []
    speaker.close()


@needs_aplay
@pytest.mark.skipif(has_sound_card(), reason="this machine has a sound card")
def test_real_aplay_on_a_machine_without_a_sound_card_is_speaker_missing(tmp_path):
    speaker = open_speaker(VoiceConfig(), tmp_path)
    assert speaker.player.kind == "aplay"
    assert speaker.fault == "speaker_missing"
    assert "aplay -l lists none" in speaker.problem
    speaker.say([GO])
    speaker.close()


@needs_aplay
@needs_espeak
def test_a_sound_card_that_fails_while_playing_becomes_speaker_missing(tmp_path):
    speaker = Speaker(AplayPlayer(PromptCache(tmp_path), device="no_such_alsa_device"))
    assert speaker.fault is None
    speaker.say([GO])
    assert speaker.wait_idle(20)
    assert speaker.fault == "speaker_missing"
    assert "could not play on 'no_such_alsa_device'" in speaker.problem
    speaker.close()


def test_no_aplay_or_no_espeak_is_named_as_such(tmp_path):
    assert Speaker(AplayPlayer(PromptCache(tmp_path), aplay="/nonexistent/aplay")).problem.startswith(
        "/nonexistent/aplay is not installed (Debian package alsa-utils)")
    speaker = Speaker(AplayPlayer(PromptCache(tmp_path, espeak="/nonexistent/espeak-ng"), device="null"))
    if HAS_APLAY:
        assert speaker.fault == "voice_unavailable" and "espeak-ng" in speaker.problem


# -- real espeak-ng, real aplay ----------------------------------------------------------------


@needs_espeak
def test_espeak_ng_makes_a_real_wav_once_per_text_voice_and_volume(tmp_path):
    cache = PromptCache(tmp_path / "prompts", volume=80)
    wav = cache.wav(GO)
    with wave.open(str(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getnframes() / w.getframerate() > 0.3  # a second or so of speech
    made_at = wav.stat().st_mtime_ns
    assert cache.wav(GO) == wav and wav.stat().st_mtime_ns == made_at  # kept, not made again
    assert PromptCache(tmp_path / "prompts", volume=40).wav(GO) != wav
    assert cache.wav(Line("Please go through", "en")) != wav
    assert [p.name for p in (tmp_path / "prompts").iterdir() if p.name.startswith(".")] == []


@needs_espeak
@needs_aplay
def test_aplay_plays_a_real_prompt_through_alsa(tmp_path):
    started: list[Line] = []
    speaker = Speaker(AplayPlayer(PromptCache(tmp_path), device="null", on_start=started.append))
    speaker.say([GO, Line("Please go through", "en")])
    assert speaker.wait_idle(20)
    assert started == [GO, Line("Please go through", "en")] and speaker.fault is None
    assert speaker.spoken == 2
    speaker.close()


@needs_espeak
def test_warming_makes_every_prompt_of_the_venue_settings(tmp_path):
    speaker = Speaker(RecordingPlayer(), voice=VoiceConfig(language="both"))
    cache = PromptCache(tmp_path)
    thread = speaker.warm(cache)
    thread.join(120)
    from gate.voice import every_line

    lines = every_line(VoiceConfig(language="both"))
    assert all(cache.path(line).is_file() for line in lines)
    assert {line.language for line in lines} == {"zh", "en"}


@needs_espeak
def test_warming_deletes_prompts_of_old_settings(tmp_path):
    PromptCache(tmp_path, volume=40).wav(GO)
    cache = PromptCache(tmp_path, volume=80)
    assert cache.warm([GO]) == 1
    assert [p.name for p in tmp_path.glob("*.wav")] == [cache.path(GO).name]
