"""What the gate says aloud for a decision, from the vocabulary, in the venue's languages."""

from __future__ import annotations

from gate import vocabulary
from gate.config import VoiceConfig
from gate.voice import Line, PromptCache, espeak_amplitude, every_line, languages, lines_for


def test_mandarin_english_or_both_mandarin_first():
    assert languages("zh") == ("zh",) and languages("en") == ("en",) and languages("both") == ("zh", "en")
    reasons = ("code_valid", "green", "temperature_normal")
    assert lines_for("allow", reasons, "metro", 36.6, VoiceConfig(language="both")) == (
        Line("请通行", "zh"), Line("Please go through", "en"))


def test_the_prompt_is_the_vocabularys_for_the_deciding_reason_and_venue():
    said = vocabulary.saying("deny", "red", "bus_taxi")
    assert lines_for("deny", ("code_valid", "red"), "bus_taxi", None, VoiceConfig())[0].text == said.prompt_zh
    assert lines_for("deny", ("code_valid", "red"), "metro", None, VoiceConfig())[0].text == "红码，禁止通行"


def test_the_temperature_is_spoken_where_the_venue_wants_it():
    reasons = ("code_valid", "green", "temperature_normal")
    both = VoiceConfig(language="both", speak_temperature=True)
    assert [line.text for line in lines_for("allow", reasons, "metro", 36.6, both)] == [
        "体温三十六点六度", "请通行", "Temperature 36.6 degrees", "Please go through"]
    assert lines_for("allow", reasons, "metro", 36.6, VoiceConfig())[0].text == "请通行"
    assert lines_for("manual", ("code_valid", "green", "temperature_unavailable"), "metro", None,
                     VoiceConfig(speak_temperature=True))[0].text.startswith("未测到体温")


def test_every_line_holds_each_prompt_and_each_spoken_temperature():
    plain = every_line(VoiceConfig())
    assert {line.text for line in plain} == {s.prompt_zh for s in vocabulary.SAYINGS.values()} | {
        s.prompt_zh for s in vocabulary.VENUE_SAYINGS.values()}
    spoken = every_line(VoiceConfig(speak_temperature=True))
    temperatures = [line.text for line in spoken if line.text.startswith("体温") and line.text.endswith("度")]
    assert len(temperatures) == 91 and temperatures[0] == "体温三十四点零度" and temperatures[-1] == "体温四十三点零度"
    assert len(spoken) == len(plain) + 91  # each temperature once, not once per prompt


def test_volume_maps_to_espeak_amplitude_and_keys_the_cache(tmp_path):
    assert (espeak_amplitude(0), espeak_amplitude(50), espeak_amplitude(100)) == (0, 100, 200)
    line = Line("请通行", "zh")
    assert PromptCache(tmp_path, 80).path(line) != PromptCache(tmp_path, 60).path(line)
    assert PromptCache(tmp_path, 80).path(line) != PromptCache(tmp_path, 80).path(Line("请通行。", "zh"))
    assert PromptCache(tmp_path, 80).path(line) == PromptCache(tmp_path, 80).path(Line("请通行", "zh"))
