"""`gate doctor`: one line per check; the thermometer read once with raw, ambient and emissivity."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.config import Config, StoreConfig, TemperatureConfig, VenueConfig, VoiceConfig
from gate.hardware.speaker import RecordingPlayer
from gate.health import CheckResult, check_speaker, check_thermometer, run_checks
from gate.hardware.thermometer import MLX90614, crc8
from tests.hardware.test_speaker import has_sound_card

CONFIG = """\
[device]
id = "gate-test-0001"

[venue]
id = "test-gate"
type = "residential"
community_codes = ["360102-012"]

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
    (tmp_path / "keys").mkdir(exist_ok=True)
    keylib.write_private_key(tmp_path / "keys" / "device.key", keylib.generate("EdDSA"))
    fresh = issuelib.make_status_list(2, int(time.time()) - 60, [], 0)  # a status list from today
    (pki.trust_dir / "statuslist.json").write_bytes(fresh)
    (pki.trust_dir / "statuslist.json.sig").write_text(pki.sign(fresh))

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
        "MLX90614 at 0x5A on I2C bus 1: object 23.45 °C raw, 23.45 °C with offset, ambient 22.05 °C, "
            "emissivity 1.000 "
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


def test_doctor_prints_one_line_per_check(runner, write_config, tmp_path):
    result = runner.invoke(main, ["doctor", "--config", write_config('sensor = "simulated"\nsimulated_c = 36.4')])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "WARN  thermometer: simulated thermometer reading 36.4 °C: not for a gate people pass through" in lines
    assert [line.split(":")[0] for line in lines] == [
        "OK    camera", "WARN  thermometer", "OK    clock", "OK    trust.status_list", "OK    trust",
        "OK    device_key", "WARN  store", "WARN  collector", ("OK    speaker" if has_sound_card() else "WARN  speaker"),
        "OK    setup", "OK    bulletin"]
    assert "does not exist yet" in lines[-5]
    assert not (tmp_path / "var").exists()  # the doctor looked, and created nothing



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


def test_a_missing_sound_card_is_the_speaker_missing_fault_on_the_health_check(tmp_path):
    config = dataclasses.replace(cfg(), store=StoreConfig(path=tmp_path / "scans.db"))
    [result] = check_speaker(config, RecordingPlayer(missing=True))
    assert result.level == "WARN" and result.details == {"fault": "speaker_missing"}
    assert result.message.startswith("No sound card: voice prompts off (no sound card found")


def test_a_working_speaker_and_a_voice_turned_off_are_ok(tmp_path):
    config = dataclasses.replace(cfg(), store=StoreConfig(path=tmp_path / "scans.db"))
    [result] = check_speaker(config, RecordingPlayer())
    assert result.level == "OK" and "prompts in zh, volume 80" in result.message
    [off] = check_speaker(dataclasses.replace(config, voice=VoiceConfig(enabled=False)))
    assert (off.level, off.message) == ("OK", "voice prompts off ([voice] enabled = false or volume = 0)")


# -- what the doctor must not call OK --------------------------------------------------------


def test_doctor_fails_a_missing_device_key(runner, write_config, tmp_path):
    config = write_config('sensor = "simulated"')
    (tmp_path / "keys" / "device.key").unlink()
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["device_key"]["level"] == "FAIL" and "missing" in checks["device_key"]["message"]
    assert result.exit_code == 1


def test_doctor_fails_a_device_key_that_is_not_ed25519(runner, write_config, tmp_path):
    config = write_config('sensor = "simulated"')
    (tmp_path / "keys" / "device.key").unlink()
    keylib.write_private_key(tmp_path / "keys" / "device.key", keylib.generate("ES256"))
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["device_key"]["level"] == "FAIL" and "Ed25519" in checks["device_key"]["message"]


@pytest.mark.parametrize("damage", ["absent", "tampered"])
def test_doctor_fails_without_a_status_list_in_force(runner, write_config, pki, damage):
    config = write_config('sensor = "simulated"')
    if damage == "absent":
        (pki.trust_dir / "statuslist.json").unlink()
    else:
        (pki.trust_dir / "statuslist.json").write_bytes(b'{"version": 9, "base_version": 0, "issued_at": 1, "entries": []}')
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["trust.status_list"]["level"] == "FAIL"
    assert "No status list" in checks["trust.status_list"]["message"]
    assert result.exit_code == 1


def test_doctor_warns_of_a_stale_status_list(runner, write_config, pki):
    config = write_config('sensor = "simulated"')
    old = issuelib.make_status_list(3, int(time.time()) - 50 * 3600, [], 0)
    (pki.trust_dir / "statuslist.json").write_bytes(old)
    (pki.trust_dir / "statuslist.json.sig").write_text(pki.sign(old))
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["trust.status_list"]["level"] == "WARN" and "50 h old" in checks["trust.status_list"]["message"]
    assert result.exit_code == 0


def test_doctor_fails_a_store_with_corrupt_pages(runner, write_config, tmp_path):
    from gate.store import Store

    config = write_config('sensor = "simulated"')
    path = tmp_path / "var" / "scans.db"
    with Store(path) as store:
        store._db.execute("CREATE TABLE filler (x)")
        store._db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) "
                          "INSERT INTO filler SELECT randomblob(2000) FROM n")
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(raw) - page, 7 * page):  # scribble over some pages, keep the header
        raw[offset:offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(raw))
    result = runner.invoke(main, ["doctor", "--config", config, "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["store"]["level"] == "FAIL" and "integrity_check" in checks["store"]["message"]
    assert result.exit_code == 1


def test_doctor_keeps_opencvs_own_warnings_off_the_terminal(capfd, tmp_path, write_config):
    from gate.config import load_config
    from gate.health import check_camera

    config = Path(write_config('sensor = "simulated"'))
    config.write_text(config.read_text().replace(str(tmp_path / "frames"), "7"))
    results = check_camera(load_config(config))
    assert results[0].level == "FAIL"
    captured = capfd.readouterr()
    assert "WARN" not in captured.err and "cap_v4l" not in captured.err and "reconnecting" not in captured.err
