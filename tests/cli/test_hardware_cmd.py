"""`gate hardware test`: the technician's step-by-step check, on mock pins through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main

CONFIG = """\
[device]
id = "gate-test-0001"

[venue]
id = "test-gate"
type = "residential"
community_codes = ["360102-012"]

[io]
relay_pulse_s = 0.1
{io}

[voice]
{voice}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_config(tmp_path: Path):
    def write(io: str = "", voice: str = "") -> str:
        path = tmp_path / "gate.toml"
        path.write_text(CONFIG.format(io=io, voice=voice), encoding="utf-8")
        return str(path)

    return write


def hardware_test(runner: CliRunner, config: str, *args: str, input: str | None = None):
    return runner.invoke(main, ["hardware", "test", "--config", config, "--simulate", "--step-seconds", "0", *args],
                         input=input)


def test_yes_runs_every_step_and_shows_what_each_pin_did(runner, write_config):
    result = hardware_test(runner, write_config(), "--yes")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "- relay on GPIO17" in out
    assert "GPIO17: high→low→high (active-low board: low = energised)" in out
    for pin in (22, 27, 23):
        assert f"GPIO{pin}: low→high→low" in out
    assert out.count("GPIO24: low→high→low") == 2  # short and long beep
    assert "override button on GPIO25: not pressed" in out
    assert "fire release on GPIO5: not asserted" in out
    assert out.rstrip().endswith(
        "Summary: relay done, green light done, yellow light done, red light done, short beep done, long beep done, "
        "voice done"
    )
    assert "- voice: expect the speaker says the allow prompt" in out and "  said: 请通行\n" in out


def test_the_voice_step_says_the_venues_languages(runner, write_config):
    result = hardware_test(runner, write_config(voice='language = "both"'), "--yes")
    assert "  said: 请通行 / Please go through\n" in result.stdout


def test_the_voice_step_says_the_temperature_where_the_venue_does(runner, write_config):
    result = hardware_test(runner, write_config(voice="speak_temperature = true"), "--yes")
    assert "  said: 体温三十六点六度 / 请通行\n" in result.stdout


def test_a_voice_turned_off_is_skipped(runner, write_config):
    result = hardware_test(runner, write_config(voice="enabled = false"), "--yes")
    assert result.exit_code == 0
    assert "- voice: not fitted ([voice] enabled = false or volume = 0), skipped" in result.stdout


def test_active_high_relay_board(runner, write_config):
    result = hardware_test(runner, write_config("relay_active_high = true"), "--yes")
    assert "GPIO17: low→high→low\n" in result.stdout


def test_parts_not_fitted_are_skipped(runner, write_config):
    result = hardware_test(runner, write_config("led_yellow_pin = false\nbuzzer_pin = false\nfire_release_pin = false"),
                           "--yes")
    assert result.exit_code == 0
    assert "yellow light: not fitted (io.led_yellow_pin = false), skipped" in result.stdout
    assert "short beep: not fitted" in result.stdout
    assert "fire release: not fitted" in result.stdout


def test_prompts_one_step_at_a_time(runner, write_config):
    # relay: run, worked; green: skip; yellow: stop
    result = hardware_test(runner, write_config(), input="\ny\ns\nq\n")
    assert result.exit_code == 0, result.output
    assert "Summary: relay ok, green light skipped\n" in result.stdout
    assert "red light on" not in result.stdout


def test_a_step_that_did_not_work_fails_the_run(runner, write_config):
    result = hardware_test(runner, write_config(), input="\nn\nq\n")
    assert result.exit_code == 1
    assert "relay FAILED" in result.stdout


def test_bad_config_is_one_line_and_exit_2(runner, tmp_path):
    result = runner.invoke(main, ["hardware", "test", "--config", str(tmp_path / "missing.toml"), "--yes"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "missing.toml" in result.stderr


@pytest.mark.skipif(Path("/proc/device-tree/model").exists(), reason="a machine with real GPIO")
def test_no_gpio_without_simulate_is_one_line_and_exit_2(runner, write_config, monkeypatch):
    from gpiozero import Device

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    result = runner.invoke(main, ["hardware", "test", "--config", write_config(), "--yes"])
    assert result.exit_code == 2
    assert result.stderr == (
        "no GPIO pins found on this machine (gpiozero could not load a pin factory): "
        "run this on the gate's Raspberry Pi, or add --simulate\n"
    )
