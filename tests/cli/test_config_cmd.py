"""`gate config show|validate|set`: the technician's commands, through click's runner."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.cli.config_cmd import parse_value
from gate.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_config"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()  # click >= 8.2 keeps stderr apart from stdout


@pytest.fixture
def gate_toml(tmp_path: Path) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text((EXAMPLES / "residential.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def provisioned(gate_toml: Path, pki) -> Path:
    """The residential example with its trust folder and device key really there."""
    from gate.codes import keys as keylib

    keylib.write_private_key(gate_toml.parent / "device.key", keylib.generate("EdDSA"))
    text = gate_toml.read_text().replace('"/etc/gate/keys/device.key"', '"device.key"')
    gate_toml.write_text(text.replace('"/etc/gate/keys/trust"', f'"{pki.trust_dir}"'))
    return gate_toml


def gate(runner: CliRunner, *args: str):
    return runner.invoke(main, ["config", *args])


def test_validate_says_a_good_file_is_valid(runner: CliRunner, provisioned: Path) -> None:
    gate_toml = provisioned
    result = gate(runner, "validate", "--config", str(gate_toml))
    assert result.exit_code == 0
    assert result.stdout == f"{gate_toml}: valid (residential gate gate-nc-0001 at 360102-012-north-gate)\n"


def test_validate_refuses_a_bad_file_in_one_line_with_exit_2(runner: CliRunner, provisioned: Path) -> None:
    gate_toml = provisioned
    gate_toml.write_text(gate_toml.read_text().replace('type = "residential"', 'type = "mall"'))
    result = gate(runner, "validate", "--config", str(gate_toml))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f'{gate_toml}: [venue] type = "mall" is not allowed; '
        "use one of residential, public_place, metro, bus_taxi, special_place\n"
    )


def test_validate_lists_every_reason_the_gate_would_not_start(runner: CliRunner, gate_toml: Path) -> None:
    text = gate_toml.read_text().replace('relay_pin = 17', 'relay_pin = 2').replace('"/etc/gate/keys/trust"', '"nowhere"')
    gate_toml.write_text(text)
    result = gate(runner, "validate", "--config", str(gate_toml))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert "relay_pin = 2" in lines[0] and "I2C" in lines[0]
    assert "[trust] dir" in lines[1] and "no trust anchor" in lines[1]
    assert "[device] key" in lines[2] and "missing" in lines[2]


def test_validate_refuses_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = gate(runner, "validate", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "cannot be read" in result.stderr and result.stderr.count("\n") == 1


def test_show_prints_the_effective_configuration_as_toml(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text('[device]\nid = "g"\n[venue]\nid = "v"\ntype = "metro"\n[io]\nbuzzer_pin = false\n')
    result = gate(runner, "show", "--config", str(path))
    assert result.exit_code == 0
    shown = tomllib.loads(result.stdout)
    assert shown["temperature"]["fever_c"] == 37.3
    assert shown["io"]["buzzer_pin"] is False and shown["camera"]["exposure"] == "auto"
    assert shown["trust"]["dir"] == str(tmp_path / "keys" / "trust")
    # what show prints is itself a valid configuration, equal to the one shown
    again = tmp_path / "again.toml"
    again.write_text(result.stdout)
    assert load_config(again).io == load_config(path).io


def test_show_json_uses_null_for_pins_not_fitted(runner: CliRunner) -> None:
    result = gate(runner, "show", "--json", "--config", str(EXAMPLES / "bus_taxi.toml"))
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["io"]["relay_pin"] is None and shown["venue"]["type"] == "bus_taxi"
    assert shown["venue"]["community_codes"] == []


def test_set_changes_one_value_and_keeps_every_comment(runner: CliRunner, gate_toml: Path) -> None:
    before = gate_toml.read_text()
    result = gate(runner, "set", "temperature.fever_c", "37.5", "--config", str(gate_toml))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{gate_toml}: [temperature] fever_c = 37.5\n"
    after = gate_toml.read_text()
    assert load_config(gate_toml).temperature.fever_c == 37.5
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [
        (
            "fever_c = 37.3                       # at or above: abnormal (35.0-42.0)",
            "fever_c = 37.5                       # at or above: abnormal (35.0-42.0)",
        )
    ]
    assert len(before.splitlines()) == len(after.splitlines())


@pytest.mark.parametrize(
    ("key", "value", "check"),
    [
        ("venue.type", "metro", lambda c: c.venue.type == "metro"),
        ("venue.type", '"metro"', lambda c: c.venue.type == "metro"),
        ("camera.source", "0", lambda c: c.camera.source == "0"),
        ("camera.source", "picamera2", lambda c: c.camera.source == "picamera2"),
        ("io.buzzer_pin", "false", lambda c: c.io.buzzer_pin is None),
        ("io.buzzer_pin", "26", lambda c: c.io.buzzer_pin == 26),
        ("camera.exposure", "auto", lambda c: c.camera.exposure is None),
        ("venue.itinerary_check", "false", lambda c: c.venue.itinerary_check is False),
        ("venue.community_codes", '["360102-012", "360102-013"]', lambda c: c.venue.community_codes == ("360102-012", "360102-013")),
        ("temperature.i2c_address", "0x5B", lambda c: c.temperature.i2c_address == 0x5B),
        ("collector.url", "https://collector.example", lambda c: c.collector.url == "https://collector.example"),
        ("venue.id", "360102-012-south-gate", lambda c: c.venue.id == "360102-012-south-gate"),
    ],
)
def test_set_takes_values_as_a_technician_types_them(runner: CliRunner, gate_toml: Path, key: str, value: str, check) -> None:
    result = gate(runner, "set", key, value, "--config", str(gate_toml))
    assert result.exit_code == 0, result.stderr
    assert check(load_config(gate_toml))


def test_set_adds_a_key_missing_from_the_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text('# my gate\n[device]\nid = "g"\n[venue]\nid = "v"\ntype = "metro"\n')
    assert gate(runner, "set", "store.retention_days", "14", "--config", str(path)).exit_code == 0
    assert gate(runner, "set", "venue.strict_clock", "true", "--config", str(path)).exit_code == 0
    cfg = load_config(path)
    assert cfg.store.retention_days == 14 and cfg.venue.strict_clock is True
    assert path.read_text().startswith("# my gate\n")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("venue.type", "mall", '[venue] type = "mall" is not allowed; use one of residential,'),
        ("temperature.fever_c", "hot", '[temperature] fever_c = "hot" is not allowed; use a number from 35.0 to 42.0'),
        ("temperature.fever_c", "45", "[temperature] fever_c = 45 is not allowed"),
        ("temperature.recheck_window_s", "true", "[temperature] recheck_window_s = true is not allowed"),
        ("camera.fps", "30", '[camera] unknown key "fps"; allowed keys:'),
        ("cameras.width", "30", "unknown section [cameras]"),
        ("io.led_red_pin", "17", "is already used by"),
    ],
)
def test_set_refuses_a_bad_value_and_leaves_the_file_untouched(
    runner: CliRunner, gate_toml: Path, key: str, value: str, message: str
) -> None:
    before = gate_toml.read_bytes()
    result = gate(runner, "set", key, value, "--config", str(gate_toml))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{gate_toml}: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert gate_toml.read_bytes() == before
    assert sorted(os.listdir(gate_toml.parent)) == ["gate.toml"]  # no temporary file left behind


@pytest.mark.parametrize("key", ["fever_c", "a.b.c", ".x", "venue."])
def test_set_refuses_a_key_that_is_not_section_dot_name(runner: CliRunner, gate_toml: Path, key: str) -> None:
    result = gate(runner, "set", key, "1", "--config", str(gate_toml))
    assert result.exit_code == 2
    assert result.stderr == f"{key}: a key is SECTION.NAME, e.g. venue.type or temperature.fever_c\n"


def test_set_refuses_a_file_that_is_not_toml(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[device\n")
    result = gate(runner, "set", "venue.type", "metro", "--config", str(path))
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
    assert path.read_text() == "[device\n"


def test_set_can_repair_a_file_that_is_toml_but_invalid(runner: CliRunner, gate_toml: Path) -> None:
    gate_toml.write_text(gate_toml.read_text().replace("fever_c = 37.3", "fever_c = 48"))
    result = gate(runner, "set", "temperature.fever_c", "37.3", "--config", str(gate_toml))
    assert result.exit_code == 0
    assert load_config(gate_toml).temperature.fever_c == 37.3


def test_set_keeps_the_files_permissions(runner: CliRunner, gate_toml: Path) -> None:
    gate_toml.chmod(0o600)
    assert gate(runner, "set", "venue.strict_clock", "true", "--config", str(gate_toml)).exit_code == 0
    assert gate_toml.stat().st_mode & 0o777 == 0o600


def test_set_writes_through_a_symlink_to_the_real_file(runner: CliRunner, gate_toml: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(gate_toml)
    assert gate(runner, "set", "venue.strict_clock", "true", "--config", str(link)).exit_code == 0
    assert link.is_symlink() and load_config(gate_toml).venue.strict_clock is True


def test_set_in_a_read_only_folder_fails_in_one_line(runner: CliRunner, gate_toml: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    gate_toml.parent.chmod(0o500)
    try:
        result = gate(runner, "set", "venue.strict_clock", "true", "--config", str(gate_toml))
    finally:
        gate_toml.parent.chmod(0o700)
    assert result.exit_code == 2 and "cannot be written" in result.stderr


def test_values_are_read_as_toml_except_for_text_keys() -> None:
    assert parse_value("temperature.fever_c", "37") == 37
    assert parse_value("io.relay_pin", "false") is False
    assert parse_value("camera.source", "0") == "0"
    assert parse_value("venue.id", "2026-01-01") == "2026-01-01"
    assert parse_value("venue.type", '"metro"') == "metro"
    assert parse_value("temperature.fever_c", "hot") == "hot"


@pytest.mark.parametrize("value", ["-0.5", "-1", "-4.9"])
def test_set_takes_a_negative_number_as_written(runner: CliRunner, gate_toml: Path, value: str) -> None:
    result = gate(runner, "set", "--config", str(gate_toml), "temperature.offset_c", value)
    assert result.exit_code == 0, result.stderr
    assert load_config(gate_toml).temperature.offset_c == float(value)
    again = gate(runner, "set", "temperature.offset_c", value, "--config", str(gate_toml))
    assert again.exit_code == 0, again.stderr
