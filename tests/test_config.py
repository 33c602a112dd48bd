"""The configuration file (spec/config.md): examples load, defaults hold, every bad file is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import (
    CameraConfig,
    Config,
    ConfigError,
    IOConfig,
    TemperatureConfig,
    VenueConfig,
    load_config,
    loads_config,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "firmware_config"
MINIMAL = """
[device]
id = "gate-1"

[venue]
id = "north-gate"
type = "public_place"
"""


def write(tmp_path: Path, text: str, name: str = "gate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


# --- the examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("venue_type", ["residential", "public_place", "metro", "bus_taxi", "special_place"])
def test_each_venue_type_has_an_example_that_loads(venue_type: str) -> None:
    cfg = load_config(EXAMPLES / f"{venue_type}.toml")
    assert cfg.venue.type == venue_type
    assert cfg.device.id and cfg.venue.id
    assert cfg.source == EXAMPLES / f"{venue_type}.toml"


def test_the_examples_differ_where_the_venues_do() -> None:
    assert load_config(EXAMPLES / "residential.toml").venue.community_codes == ("360102-012",)
    assert load_config(EXAMPLES / "bus_taxi.toml").io.relay_pin is None
    assert load_config(EXAMPLES / "special_place.toml").venue.strict_clock is True
    assert load_config(EXAMPLES / "metro.toml").voice.language == "both"
    assert load_config(EXAMPLES / "residential.toml").voice.speak_temperature is True


def test_the_demo_configuration_uses_the_simulated_sensor_and_paths_beside_the_project() -> None:
    cfg = load_config(EXAMPLES / "demo.toml")
    root = EXAMPLES.parent
    assert cfg.temperature.sensor == "simulated"
    assert cfg.store.path == root / "var" / "demo" / "scans.db"
    assert cfg.trust.dir == root / "keys" / "demo" / "trust"
    assert cfg.device.key == root / "keys" / "demo" / "device.key"
    assert cfg.camera.source == str(root / "var" / "demo" / "footage.mp4")
    assert cfg.io.relay_pin == 17


# --- defaults ----------------------------------------------------------------------------------


def test_a_minimal_file_takes_every_default_of_the_spec(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.venue == VenueConfig(id="north-gate", type="public_place")
    assert cfg.venue.yellow_residents_only and cfg.venue.itinerary_check and not cfg.venue.strict_clock
    assert cfg.temperature == TemperatureConfig()
    assert (cfg.temperature.fever_c, cfg.temperature.recheck_window_s, cfg.temperature.i2c_address) == (37.3, 900, 0x5A)
    assert cfg.camera == CameraConfig(source="0", width=640, height=480, debounce_s=3.0, exposure=None)
    assert cfg.io == IOConfig()
    assert (cfg.io.relay_pin, cfg.io.relay_active_high, cfg.io.fire_release_pin) == (17, False, 5)
    assert (cfg.trust.skew_s, cfg.trust.status_max_age_h, cfg.store.retention_days) == (300, 48, 28)
    assert (cfg.collector.url, cfg.collector.batch_size, cfg.collector.timeout_s) == ("", 500, 10.0)
    assert cfg.store.path == Path("/var/lib/gate/scans.db")


def test_no_compound_is_served_by_default_so_no_yellow_is_let_in_by_default(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL)).venue.community_codes == ()
    resident = MINIMAL.replace('"public_place"', '"residential"\nyellow_residents_only = false')
    assert load_config(write(tmp_path, resident)).venue.community_codes == ()


def test_relative_paths_are_taken_from_the_files_folder_even_for_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    cfg = load_config(write(folder, MINIMAL + '[store]\npath = "../db/scans.db"\n[camera]\nsource = "clips/a.mp4"\n'))
    assert cfg.store.path == tmp_path / "db" / "scans.db"
    assert cfg.camera.source == str(folder / "clips" / "a.mp4")
    assert cfg.device.key == folder / "keys" / "device.key"
    assert cfg.trust.dir == folder / "keys" / "trust"


@pytest.mark.parametrize("source", ["0", "2", "picamera2", "rtsp://cam.local/stream", "/dev/video0"])
def test_camera_sources_that_are_not_relative_files_are_kept_as_written(tmp_path: Path, source: str) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + f'[camera]\nsource = "{source}"\n'))
    assert cfg.camera.source == source


def test_a_pin_set_to_false_is_not_fitted_and_exposure_auto_is_none(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + '[io]\nbuzzer_pin = false\n[camera]\nexposure = "auto"\n'))
    assert cfg.io.buzzer_pin is None and cfg.io.relay_pin == 17
    assert cfg.camera.exposure is None
    assert load_config(write(tmp_path, MINIMAL + "[camera]\nexposure = 250\n")).camera.exposure == 250


def test_a_whole_number_is_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + "[temperature]\nfever_c = 38\n[io]\nrelay_pulse_s = 5\n"))
    assert cfg.temperature.fever_c == 38.0 and isinstance(cfg.temperature.fever_c, float)
    assert cfg.io.relay_pulse_s == 5.0


def test_values_are_frozen(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        cfg.venue.type = "metro"  # type: ignore[misc]


def test_sections_are_constructible_by_keyword_for_tests() -> None:
    cfg = Config(venue=VenueConfig(type="metro", id="m1"))
    assert cfg.io.relay_pin == 17 and cfg.camera.debounce_s == 3.0


def test_from_dict_checks_like_a_file() -> None:
    cfg = Config.from_dict({"device": {"id": "g"}, "venue": {"id": "v", "type": "metro"}}, "/srv/gate")
    assert cfg.store.path == Path("/var/lib/gate/scans.db") and cfg.trust.dir == Path("/srv/gate/keys/trust")
    with pytest.raises(ConfigError, match=r"^<config>: \[venue\] type is missing"):
        Config.from_dict({"device": {"id": "g"}, "venue": {"id": "v"}})


def test_to_dict_and_back_is_the_same_configuration(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLES / "bus_taxi.toml")
    again = Config.from_dict(cfg.to_toml_dict(), tmp_path, name=str(cfg.source))
    assert again.io == cfg.io and again.venue == cfg.venue and again.store == cfg.store


# --- refusals: each kind, with its message -------------------------------------------------------


def test_a_file_that_is_not_toml_is_refused_with_the_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, MINIMAL + "[temperature]\nfever_c = \n")
    assert message.startswith("not valid TOML:") and "line 9" in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read: No such file"):
        load_config(tmp_path / "absent.toml")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_bytes(MINIMAL.encode() + b'\n# \xff\xfe\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        # unknown section, unknown key, a key outside any section
        ("[cameras]\nwidth = 1\n", "unknown section [cameras]; use one of [device], [venue], [temperature]"),
        ("[camera]\nfps = 30\n", '[camera] unknown key "fps"; allowed keys: source, width, height, debounce_s, exposure'),
        # wrong types: bool is not a number, a number is not a string, a string is not a bool
        ("[temperature]\nrecheck_window_s = true\n", "[temperature] recheck_window_s = true is not allowed; use a whole number from 1 to 86400"),
        ("[temperature]\nfever_c = \"37.3\"\n", '[temperature] fever_c = "37.3" is not allowed; use a number from 35.0 to 42.0'),
        ("[temperature]\nrecheck_window_s = 90.5\n", "[temperature] recheck_window_s = 90.5 is not allowed; use a whole number"),
        ("[camera]\nsource = 0\n", "[camera] source = 0 is not allowed; use a non-empty path in quotes"),
        ("[temperature]\nrequired = \"yes\"\n", '[temperature] required = "yes" is not allowed; use true or false'),
        ("[collector]\nbatch_size = 1.0\n", "[collector] batch_size = 1.0 is not allowed; use a whole number from 1 to 10000"),
        ("[io]\nrelay_pin = true\n", "[io] relay_pin = true is not allowed; use a BCM pin number from 0 to 27, or false when not fitted"),
        ("[io]\nrelay_pin = \"none\"\n", '[io] relay_pin = "none" is not allowed; use a BCM pin number from 0 to 27'),
        ("[camera]\nexposure = false\n", '[camera] exposure = false is not allowed; use "auto" or a whole number from 1 to 1000000'),
        ("[temperature]\nsensor = \"dht22\"\n", '[temperature] sensor = "dht22" is not allowed; use one of mlx90614, simulated, none'),
        # out of range
        ("[temperature]\nfever_c = 34.9\n", "[temperature] fever_c = 34.9 is not allowed; use a number from 35.0 to 42.0"),
        ("[temperature]\nfever_c = 42.1\n", "[temperature] fever_c = 42.1 is not allowed"),
        ("[temperature]\nfever_c = nan\n", "[temperature] fever_c = nan is not allowed"),
        ("[temperature]\nrecheck_window_s = 0\n", "[temperature] recheck_window_s = 0 is not allowed"),
        ("[temperature]\ni2c_address = 0x78\n", "[temperature] i2c_address = 120 is not allowed; use a whole number from 0x03 to 0x77"),
        ("[temperature]\noffset_c = 6\n", "[temperature] offset_c = 6 is not allowed; use a number from -5.0 to 5.0"),
        ("[trust]\nskew_s = -1\n", "[trust] skew_s = -1 is not allowed; use a whole number from 0 to 3600"),
        ("[trust]\nskew_s = 3601\n", "[trust] skew_s = 3601 is not allowed"),
        ("[camera]\nwidth = 0\n", "[camera] width = 0 is not allowed; use a whole number from 1 to 8192"),
        ("[camera]\nheight = -480\n", "[camera] height = -480 is not allowed"),
        ("[camera]\ndebounce_s = -0.5\n", "[camera] debounce_s = -0.5 is not allowed"),
        ("[io]\nrelay_pin = 28\n", "[io] relay_pin = 28 is not allowed; use a BCM pin number from 0 to 27"),
        ("[io]\nrelay_pin = -1\n", "[io] relay_pin = -1 is not allowed"),
        ("[io]\nrelay_pulse_s = 0.05\n", "[io] relay_pulse_s = 0.05 is not allowed; use a number from 0.1 to 60.0"),
        ("[io]\nrelay_pulse_s = 61\n", "[io] relay_pulse_s = 61 is not allowed"),
        ("[store]\nretention_days = 0\n", "[store] retention_days = 0 is not allowed; use a whole number from 1 to 3650"),
        ("[store]\npath = \"\"\n", '[store] path = "" is not allowed; use a non-empty path in quotes'),
        ("[collector]\nbatch_size = 10001\n", "[collector] batch_size = 10001 is not allowed"),
        ("[collector]\ntimeout_s = 0\n", "[collector] timeout_s = 0 is not allowed; use a number above 0.0 and at most 600.0"),
        ("[collector]\nurl = \"ftp://x\"\n", '[collector] url = "ftp://x" is not allowed; use "" (no uploads) or an http:// or https:// address'),
        ("[venue.extra]\nx = 1\n", '[venue] unknown key "extra"'),
        # two keys on one pin
        ("[io]\nbuzzer_pin = 17\n", "[io] buzzer_pin = 17 is not allowed; pin 17 is already used by relay_pin"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key_and_what_is_allowed(tmp_path: Path, addition: str, message: str) -> None:
    assert refusal(tmp_path, MINIMAL + addition).startswith(message)


def test_a_venue_type_outside_the_five_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace('type = "public_place"', 'type = "mall"')
    assert refusal(tmp_path, text) == (
        '[venue] type = "mall" is not allowed; use one of residential, public_place, metro, bus_taxi, special_place'
    )


def test_community_codes_must_be_a_list_of_codes(tmp_path: Path) -> None:
    assert refusal(tmp_path, MINIMAL + 'community_codes = "360102-012"\n').startswith(
        '[venue] community_codes = "360102-012" is not allowed; use a list of community codes'
    )
    assert refusal(tmp_path, MINIMAL + "community_codes = [1]\n").startswith("[venue] community_codes = [1]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[venue]\nid = "v"\ntype = "metro"\n', "[device] id is missing; it is required"),
        ('[device]\nid = "g"\n[venue]\ntype = "metro"\n', "[venue] id is missing; it is required"),
        ('[device]\nid = "g"\n[venue]\nid = "v"\n', "[venue] type is missing; it is required (use one of residential,"),
        ('[device]\nid = "g"\n', "[venue] id is missing"),
        ("", "[device] id is missing"),
        ('[device]\nid = ""\n[venue]\nid = "v"\ntype = "metro"\n', '[device] id = "" is not allowed; use a non-empty string'),
    ],
)
def test_a_missing_required_key_is_refused(tmp_path: Path, text: str, message: str) -> None:
    assert refusal(tmp_path, text).startswith(message)


def test_a_key_outside_any_section_or_a_section_that_is_a_value_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, 'fever_c = 38\n' + MINIMAL).startswith(
        "fever_c = 38 outside a section is not allowed; put each key in one of [device]"
    )
    assert refusal(tmp_path, 'io = 3\n' + MINIMAL).startswith("io = 3 is not allowed; [io] must be a section")


def test_loads_config_names_the_file_it_would_be(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^/etc/gate/gate.toml: \[venue\] type"):
        loads_config(MINIMAL.replace("public_place", "cinema"), "/etc/gate/gate.toml")


# --- the checks after parsing (config.md) ------------------------------------------------------


@pytest.mark.parametrize("ident", ["gate\n1", "gate 1", "", "x" * 65, "门1", "a/b", "gate-1\u202e"])
def test_an_id_other_than_letters_digits_and_dot_underscore_dash_is_refused(tmp_path: Path, ident: str) -> None:
    import json as _json

    text = MINIMAL.replace('id = "gate-1"', f"id = {_json.dumps(ident)}")
    assert refusal(tmp_path, text).startswith("[device] id = ")


def test_ids_of_letters_digits_and_dot_underscore_dash_up_to_64_are_allowed(tmp_path: Path) -> None:
    text = MINIMAL.replace('id = "gate-1"', f'id = "{("Ab.9_-" * 11)[:64]}"')
    assert load_config(write(tmp_path, text)).device.id == ("Ab.9_-" * 11)[:64]


@pytest.mark.parametrize(("bus", "pin"), [(1, 2), (1, 3), (0, 0), (0, 1)])
def test_a_part_on_the_thermometers_i2c_pins_is_refused(tmp_path: Path, bus: int, pin: int) -> None:
    message = refusal(tmp_path, MINIMAL + f"[temperature]\ni2c_bus = {bus}\n[io]\nrelay_pin = {pin}\n")
    assert message.startswith(f"[io] relay_pin = {pin} is not allowed; pin {pin} is the MLX90614's I2C bus {bus}")


def test_the_i2c_pins_are_free_when_no_mlx90614_is_fitted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + '[temperature]\nsensor = "none"\n[io]\nrelay_pin = 2\n'))
    assert cfg.io.relay_pin == 2


def test_a_residential_gate_for_residents_only_must_name_its_compounds(tmp_path: Path) -> None:
    text = MINIMAL.replace('"public_place"', '"residential"')
    assert "no community_codes" in refusal(tmp_path, text)


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    from gate.config import problems

    text = """
[device]
id = "gate\\n1"
key = "no-such.key"
[venue]
id = "v"
type = "residential"
colour = "red"
[temperature]
fever_c = 99
[io]
relay_pin = 2
buzzer_pin = 22
[trust]
dir = "no-such-folder"
"""
    found = problems(write(tmp_path, text))
    assert all("\n" not in line for line in found)
    wanted = ["[venue] unknown key", "[temperature] fever_c = 99", "[device] id", "pin 2 is the MLX90614",
              "pin 22 is already used", "no community_codes", "[trust] dir", "[device] key"]
    for want in wanted:
        assert sum(want in line for line in found) == 1, (want, found)
    assert len(found) == len(wanted)


def test_problems_of_a_file_the_gate_would_start_with_is_empty(tmp_path: Path, pki) -> None:
    from gate.codes import keys as keylib
    from gate.config import problems

    keylib.write_private_key(tmp_path / "device.key", keylib.generate("EdDSA"))
    text = MINIMAL + f'[trust]\ndir = "{pki.trust_dir}"\n'
    text = text.replace('id = "gate-1"', 'id = "gate-1"\nkey = "device.key"')
    assert problems(write(tmp_path, text)) == []
    (pki.trust_dir / "trustlist.json.sig").write_text(pki.sign(b"other"))
    [line] = problems(write(tmp_path, text))
    assert "the trust list does not verify" in line
    (pki.trust_dir / "anchors" / "anchor.pem").unlink()
    [line] = problems(write(tmp_path, text))
    assert "no trust anchor" in line


def test_problems_of_a_file_that_is_not_toml_is_one_line(tmp_path: Path) -> None:
    from gate.config import problems

    [line] = problems(write(tmp_path, "[device\n"))
    assert "not valid TOML" in line


@pytest.mark.parametrize(("line", "allowed"), [
    ("volume = 101", "use a whole number from 0 to 100"),
    ('language = "fr"', "use one of zh, en, both"),
    ('speak_temperature = "yes"', "use true or false"),
])
def test_voice_keys_are_checked(tmp_path, line, allowed) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(MINIMAL + "\n[voice]\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"[voice] {line} is not allowed; {allowed}" in str(info.value)


def test_the_voice_defaults_to_mandarin_at_volume_80() -> None:
    cfg = loads_config(MINIMAL, "gate.toml")
    assert (cfg.voice.enabled, cfg.voice.volume, cfg.voice.language, cfg.voice.speak_temperature) == (
        True, 80, "zh", False)
