"""`gate doctor`: one line per check; the thermometer read once with raw, ambient and emissivity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.cli.doctor_cmd import CheckResult, check_thermometer, run_checks
from gate.config import Config, TemperatureConfig, VenueConfig
from gate.hardware.thermometer import MLX90614, crc8

CONFIG = """\
[device]
id = "gate-test-0001"

[venue]
id = "test-gate"
type = "residential"

[trust]
dir = "{trust}"

[camera]
source = "{frames}"

[store]
path = "{store}"

[temperature]
{temperature}
"""


class TinyMLX90614Bus:
    """Just enough of an SMBus with an MLX90614 for the doctor: fixed object, ambient, emissivity."""

    def __init__(self, object_c: float, ambient_c: float, emissivity: float = 1.0) -> None:
        self.words = {
            0x07: round((object_c + 273.15) / 0.02),
            0x06: round((ambient_c + 273.15) / 0.02),
            0x24: round(emissivity * 65535),
        }

    def read_i2c_block_data(self, addr: int, cmd: int, length: int) -> list[int]:
        lsb, msb = self.words[cmd] & 0xFF, self.words[cmd] >> 8
        return [lsb, msb, crc8([addr << 1, cmd, (addr << 1) | 1, lsb, msb])]

    def close(self) -> None:
        pass


def cfg(**temperature) -> Config:
    return Config(venue=VenueConfig(type="residential", id="v"), temperature=TemperatureConfig(**temperature))


def sensor_on(bus, offset_c: float = 0.0) -> MLX90614:
    return MLX90614(bus, offset_c=offset_c, sleep=lambda s: None)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_config(tmp_path: Path, pki):
    import cv2
    import numpy as np

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0001.png"), np.full((480, 640, 3), 128, np.uint8))

    def write(temperature: str) -> str:
        path = tmp_path / "gate.toml"
        path.write_text(CONFIG.format(temperature=temperature, trust=pki.trust_dir, frames=frames,
                                      store=tmp_path / "var" / "scans.db"), encoding="utf-8")
        return str(path)

    return write


# -- the thermometer check ------------------------------------------------------------------


def test_a_healthy_sensor_with_nobody_in_front_is_ok():
    [result] = check_thermometer(cfg(), sensor_on(TinyMLX90614Bus(23.45, 22.05)))
    assert result.level == "OK"
    assert result.message == (
        "MLX90614 at 0x5A on I2C bus 1: object 23.45 °C raw, ambient 22.05 °C, emissivity 1.000 "
        "(no body in front of the sensor)"
    )
    assert result.details["object_raw_c"] == 23.45
    assert result.details["emissivity"] == 1.0


def test_a_forehead_shows_the_calibrated_value():
    [result] = check_thermometer(cfg(offset_c=0.4), sensor_on(TinyMLX90614Bus(36.25, 24.05), offset_c=0.4))
    assert "object 36.25 °C raw, 36.65 °C with offset, ambient 24.05 °C" in result.message


def test_reprogrammed_emissivity_warns():
    results = check_thermometer(cfg(), sensor_on(TinyMLX90614Bus(36.2, 24.0, emissivity=0.5)))
    assert [(r.name, r.level) for r in results] == [("thermometer", "OK"), ("thermometer.emissivity", "WARN")]
    assert "emissivity is 0.500" in results[1].message


def test_a_cold_box_warns():
    results = check_thermometer(cfg(), sensor_on(TinyMLX90614Bus(5.0, 3.0)))
    assert results[-1].name == "thermometer.ambient"
    assert results[-1].level == "WARN"


def test_a_missing_bus_fails():
    [result] = check_thermometer(cfg(i2c_bus=250))
    assert result.level == "FAIL"
    assert "cannot open I2C bus 250" in result.message


def test_simulated_and_absent_sensors():
    assert check_thermometer(cfg(sensor="simulated"))[0].level == "WARN"
    assert check_thermometer(cfg(sensor="none"))[0].level == "WARN"
    assert check_thermometer(cfg(sensor="none", required=False))[0].level == "OK"


def test_a_crashing_check_is_a_fail_and_the_rest_still_run():
    def check_camera(config):
        raise RuntimeError("boom")

    def check_clock(config):
        return [CheckResult("clock", "OK", "fine")]

    results = run_checks(cfg(), [check_camera, check_clock])
    assert [(r.name, r.level) for r in results] == [("camera", "FAIL"), ("clock", "OK")]
    assert "boom" in results[0].message


# -- the command ----------------------------------------------------------------------------


def test_doctor_prints_one_line_per_check(runner, write_config):
    result = runner.invoke(main, ["doctor", "--config", write_config('sensor = "simulated"\nsimulated_c = 36.4')])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "WARN  thermometer: simulated thermometer reading 36.4 °C: not for a gate people pass through" in lines
    assert [line.split(":")[0] for line in lines] == [
        "OK    camera", "WARN  thermometer", "OK    clock", "OK    trust", "OK    store", "OK    queue",
        "WARN  collector", "OK    setup"]


def test_doctor_json(runner, write_config):
    result = runner.invoke(main, ["doctor", "--config", write_config('sensor = "simulated"'), "--json"])
    report = json.loads(result.stdout)
    assert report["ok"] is True
    [check] = [c for c in report["checks"] if c["name"] == "thermometer"]
    assert {"name", "level", "message", "object_raw_c", "ambient_c", "emissivity"} <= set(check)


def test_doctor_exits_1_on_a_fail(runner, write_config):
    result = runner.invoke(main, ["doctor", "--config", write_config("i2c_bus = 250"), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False


def test_doctor_bad_config_is_one_line_and_exit_2(runner, write_config):
    result = runner.invoke(main, ["doctor", "--config", write_config('sensor = "thermocouple"')])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "sensor" in result.stderr and "thermocouple" in result.stderr


def test_doctor_fails_a_missing_camera_and_an_empty_trust_folder(runner, tmp_path, pki):
    (pki.trust_dir / "trustlist.json").unlink()
    path = tmp_path / "gate.toml"
    path.write_text(CONFIG.format(temperature='sensor = "simulated"', trust=pki.trust_dir,
                                  frames=tmp_path / "no-such-footage.mp4", store=tmp_path / "var" / "scans.db"))
    result = runner.invoke(main, ["doctor", "--config", str(path), "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["camera"]["level"] == "FAIL"
    assert checks["trust"]["level"] == "FAIL" and "unknown_key" in checks["trust"]["message"]
    assert result.exit_code == 1


def test_doctor_shows_a_collector_that_refused_this_gate(runner, write_config, tmp_path):
    from gate.store import Store
    from gate.sync import META_PROBLEM

    config = write_config('sensor = "simulated"')
    with Store(tmp_path / "var" / "scans.db") as store:
        store.meta_set(META_PROBLEM, {"at": 1, "status": 401, "error": "unknown_device", "message": "x"})
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["collector.auth"]["level"] == "FAIL"
    assert result.exit_code == 1


def test_doctor_warns_of_failing_sync_rounds(runner, write_config, tmp_path):
    from gate.store import Store
    from gate.sync import META_BACKOFF

    config = write_config('sensor = "simulated"')
    with Store(tmp_path / "var" / "scans.db") as store:
        store.meta_set(META_BACKOFF, {"failures": 3, "delay_s": 8, "until": 2e9, "error": "connection refused"})
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["sync"]["level"] == "WARN" and "connection refused" in checks["sync"]["message"]
    assert result.exit_code == 0
