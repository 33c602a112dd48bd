"""scripts/install-pi.sh and scripts/provision.sh: what they would do, and that shellcheck passes.

install-pi.sh is run with --dry-run only (it prints every step and does none, and needs no
root); provision.sh is run for real into a temporary folder with this checkout's gate command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-pi.sh"
PROVISION = ROOT / "scripts" / "provision.sh"
GATE = Path(sys.executable).parent / "gate"
VENUES = ("residential", "public_place", "metro", "bus_taxi", "special_place")


def run(*args: str, script: Path = INSTALL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                          timeout=60, cwd="/")


def steps(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


@pytest.mark.parametrize("venue", VENUES)
def test_a_dry_run_prints_every_step_for_each_venue_type(venue):
    result = run("--dry-run", venue)
    assert result.returncode == 0, result.stderr
    done = steps(result.stdout)
    assert any(s.startswith("env DEBIAN_FRONTEND=noninteractive apt-get install") and all(
        p in s for p in ("python3-venv", "libzbar0", "python3-picamera2", "chromium-browser",
                         "i2c-tools", "espeak-ng", "alsa-utils")) for s in done)
    assert f"install -m 0640 -o root -g gate {ROOT}/firmware_config/{venue}.toml " \
           "/etc/gate/gate.toml" in done
    assert "python3 -m venv --system-site-packages /opt/gate/venv" in done
    assert f"/opt/gate/venv/bin/pip install --quiet {ROOT}" in done
    assert "raspi-config nonint do_i2c 0" in done and "raspi-config nonint do_camera 0" in done
    for unit in ("gate-kiosk.service", "gate-sync.service", "gate-display.service", "gate-setup.service"):
        assert f"install -m 0644 {ROOT}/systemd/{unit} /etc/systemd/system/{unit}" in done
    assert done[-1] == ("systemctl enable --now gate-kiosk.service gate-sync.service "
                        "gate-display.service gate-setup.service")


def test_the_gate_user_is_made_or_joined_to_gpio_i2c_and_video():
    done = steps(run("--dry-run", "metro").stdout)
    assert any(("useradd" in s or "usermod" in s) and s.endswith(" gate")
               and "gpio,i2c,video" in s for s in done)


def test_the_device_id_can_be_set_and_the_key_is_provisioned():
    done = steps(run("--dry-run", "--device-id", "gate-nc-0042", "residential").stdout)
    assert "/opt/gate/venv/bin/gate config set device.id gate-nc-0042 --config " \
           "/etc/gate/gate.toml" in done
    assert f"{ROOT}/scripts/provision.sh --config /etc/gate/gate.toml --gate " \
           "/opt/gate/venv/bin/gate" in done


@pytest.mark.parametrize("args, message", [
    ((), "name the venue type"),
    (("moon",), "unknown venue type 'moon'"),
    (("metro", "bus_taxi"), "one venue type only"),
    (("--frobnicate", "metro"), "unknown option '--frobnicate'"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, message):
    result = run("--dry-run", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_help_says_how_to_use_it():
    result = run("--help")
    assert result.returncode == 0 and "--dry-run" in result.stdout and "VENUE_TYPE" in result.stdout


def test_provision_makes_the_device_key_and_prints_the_registration(tmp_path):
    key = tmp_path / "keys" / "device.key"
    result = run("--gate", str(GATE), "--id", "gate-nc-0042", "--out", str(key),
                 script=PROVISION)
    assert result.returncode == 0, result.stderr
    public = (tmp_path / "keys" / "device.pem").read_text()
    spki = "".join(line for line in public.splitlines() if "-----" not in line)
    assert f"gate collector add-device gate-nc-0042 {spki}" in result.stdout
    assert key.stat().st_mode & 0o077 == 0  # private


def test_provision_makes_the_setup_pages_certificate_beside_the_key_and_prints_its_fingerprint(tmp_path):
    from gate.tls import fingerprint

    key = tmp_path / "keys" / "device.key"
    result = run("--gate", str(GATE), "--id", "gate-nc-0042", "--out", str(key), script=PROVISION)
    assert result.returncode == 0, result.stderr
    cert = tmp_path / "keys" / "setup-cert.pem"
    assert f"SHA-256 {fingerprint(cert)}" in result.stdout
    assert (tmp_path / "keys" / "setup-key.pem").stat().st_mode & 0o077 == 0


def test_install_makes_the_setup_user_in_the_gate_group():
    done = steps(run("--dry-run", "metro").stdout)
    assert any(s.startswith("useradd --system --gid gate ") and s.endswith(" gate-setup") for s in done)
    assert "install -d -m 0770 -o root -g gate /etc/gate" in done


def test_provision_keeps_an_existing_key_unless_forced(tmp_path):
    key = tmp_path / "device.key"
    run("--gate", str(GATE), "--id", "g1", "--out", str(key), script=PROVISION)
    first = key.read_bytes()
    again = run("--gate", str(GATE), "--id", "g1", "--out", str(key), script=PROVISION)
    assert again.returncode == 0 and "keeping the existing device key" in again.stdout
    assert key.read_bytes() == first
    run("--gate", str(GATE), "--id", "g1", "--out", str(key), "--force", script=PROVISION)
    assert key.read_bytes() != first


def test_provision_reads_the_id_and_key_path_from_the_configuration(tmp_path):
    config = tmp_path / "gate.toml"
    config.write_text((ROOT / "firmware_config" / "metro.toml").read_text()
                      .replace('key = "/etc/gate/keys/device.key"', 'key = "keys/device.key"'))
    result = run("--gate", str(GATE), "--config", str(config), script=PROVISION)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "keys" / "device.key").exists()
    assert "gate collector add-device " in result.stdout


def test_provision_without_a_readable_configuration_says_what_to_pass(tmp_path):
    result = run("--gate", str(GATE), "--config", str(tmp_path / "none.toml"), script=PROVISION)
    assert result.returncode == 2 and "pass --id and --out" in result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="no shellcheck on this machine")
def test_shellcheck_passes():
    scripts = [str(INSTALL), str(PROVISION)]
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
