"""The systemd units in systemd/: systemd's own checker finds nothing wrong with them.

`systemd-analyze verify` runs where it exists. On a build machine the programs the units start
(/opt/gate/venv/bin/gate, cage) are not installed: those lines, and only those, are expected.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ("gate-kiosk.service", "gate-sync.service", "gate-display.service", "gate-setup.service")
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="no systemd-analyze on this machine")

# Programs a build machine lacks: their absence is the one thing verify may report.
NOT_INSTALLED_HERE = re.compile(
    r"^[\w.-]+\.service: Command (/opt/gate/venv/bin/gate|/usr/bin/cage) is not executable: "
    r"No such file or directory$")


def verify(*paths: Path) -> list[str]:
    """What systemd-analyze verify says about these unit files, less the known-irrelevant lines."""
    result = subprocess.run([ANALYZE, "verify", *map(str, paths)], capture_output=True,
                            text=True, timeout=60, cwd=paths[0].parent)
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.strip() and not NOT_INSTALLED_HERE.match(line)]


def settings(name: str, section: str = "Service") -> list[tuple[str, str]]:
    """Every KEY=VALUE of a section in order, repeated keys included."""
    out, current = [], None
    for raw in (UNITS_DIR / name).read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


@needs_analyze
def test_systemd_finds_nothing_wrong_with_the_units():
    assert verify(*(UNITS_DIR / name for name in UNITS)) == []


@needs_analyze
def test_the_check_does_catch_a_broken_unit(tmp_path):
    broken = tmp_path / "gate-broken.service"
    broken.write_text((UNITS_DIR / "gate-kiosk.service").read_text()
                      .replace("WatchdogSec=10", "WatchdogSec=ten")
                      .replace("ProtectSystem=strict", "ProtectSytem=strict"))
    complaints = "\n".join(verify(broken))
    assert "Failed to parse sec value" in complaints and "ProtectSytem" in complaints


def test_the_kiosk_is_a_notify_service_with_a_watchdog_that_always_restarts():
    s = dict(settings("gate-kiosk.service"))
    assert s["Type"] == "notify" and s["WatchdogSec"] == "10" and s["Restart"] == "always"
    assert s["ExecStart"] == "/opt/gate/venv/bin/gate run --config /etc/gate/gate.toml"
    assert s["User"] == "gate" and set(s["SupplementaryGroups"].split()) == {"gpio", "i2c", "video", "audio"}
    assert s["StateDirectory"] == "gate" and s["ConfigurationDirectory"] == "gate"


def test_the_kiosk_is_locked_down_but_reaches_gpio_i2c_and_the_camera():
    pairs = settings("gate-kiosk.service")
    s = dict(pairs)
    assert s["ProtectSystem"] == "strict" and s["NoNewPrivileges"] == "yes"
    assert s["PrivateDevices"] == "no" and s["DevicePolicy"] == "closed"
    allowed = {value.split()[0] for key, value in pairs if key == "DeviceAllow"}
    assert {"char-gpiochip", "char-i2c", "char-video4linux", "char-alsa"} <= allowed
    assert s["IPAddressDeny"] == "any"  # the scan path never uses the network


def test_the_kiosk_reloads_on_systemctl_reload_and_keeps_its_control_file_in_run_gate():
    s = dict(settings("gate-kiosk.service"))
    assert s["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert s["RuntimeDirectory"] == "gate" and s["RuntimeDirectoryMode"] == "0750"


def test_the_setup_page_runs_as_its_own_user_writes_only_the_configuration_and_stays_off_when_disabled():
    s = dict(settings("gate-setup.service"))
    assert s["ExecStart"].startswith("/opt/gate/venv/bin/gate setup serve --config /etc/gate/gate.toml")
    assert s["User"] == "gate-setup" and s["Group"] == "gate"
    assert s["ReadWritePaths"] == "/etc/gate" and s["ProtectSystem"] == "strict"
    assert s["Restart"] == "on-failure"  # `gate setup serve` exits 0 when [setup] enabled = false
    assert s["PrivateDevices"] == "yes"  # the hardware is the kiosk's


def test_sync_runs_gate_sync_and_may_write_only_the_trust_folder():
    s = dict(settings("gate-sync.service"))
    assert s["ExecStart"] == "/opt/gate/venv/bin/gate sync --config /etc/gate/gate.toml"
    assert s["Restart"] == "always" and s["ProtectSystem"] == "strict"
    assert s["ReadWritePaths"] == "-/etc/gate/keys/trust"


def test_the_screen_shows_the_kiosk_page_full_screen():
    s = dict(settings("gate-display.service"))
    assert s["ExecStart"].startswith("/usr/bin/cage ")
    assert "--kiosk" in s["ExecStart"] and s["ExecStart"].endswith("http://127.0.0.1:8080/")
    assert s["Restart"] == "always" and s["TTYPath"] == "/dev/tty1"


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_systemd_rates_each_unit_exposure_ok(name):
    result = subprocess.run([ANALYZE, "security", "--offline=true", str(UNITS_DIR / name)],
                            capture_output=True, text=True, timeout=60, cwd=UNITS_DIR)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    if match is None:
        pytest.skip("this systemd-analyze cannot rate a unit file offline")
    limit = 5.0 if name == "gate-display.service" else 2.5  # a browser needs namespaces
    assert float(match.group(1)) <= limit


def test_the_readme_names_every_unit_and_how_a_config_change_takes_effect():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    units = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "systemd").glob("*.service"))
    assert units and all(f"`{unit}`" in readme for unit in units)
    assert "gate config set" in readme and "systemctl reload gate-kiosk" in readme
