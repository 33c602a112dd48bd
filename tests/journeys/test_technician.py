"""A technician's first visit, as a person makes it (README "The setup page"): each command run as a
subprocess in a clean shell (tests/journeys/userkit.py), the kiosk running (`gate run`, simulated
pins, no camera plugged in yet), the page in real Chromium at a phone's size, asserting what the
technician sees.

/etc, /var and /run are folders of the test's own: the configuration and keys in `etc/`, the
record store in `var/`, the kiosk's control file in `run/` (GATE_RUNTIME_DIR, systemd's
RuntimeDirectory on a gate). The gate's heartbeat goes to a real collector on loopback.

Set GATE_SCREENSHOTS=docs/screenshots to save the README's setup-signin.png from here.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from gate.codes import keys as keylib
from tests.collectorkit import DEVICE_ID
from tests.journeys.userkit import ROOT, User
from tests.setup.browser import phone_page

PASSWORD = "a long passphrase for the gate"
SCREENSHOTS = os.environ.get("GATE_SCREENSHOTS")
OUT_OF_SERVICE = "维护中 · Out of service"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """The first line a server prints (its address), or fail with what it said instead."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        pytest.fail(f"no line from the server in {timeout} s; stderr: {process.stderr.read()}")
    return process.stdout.readline()


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM as systemd stops a unit; the process's stderr."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


@pytest.fixture
def gate_folder(user: User, pki, device_key, collector_server) -> Path:
    """The gate as provisioned: the residential example copied to etc/gate.toml (paths under the
    test's own etc/ and var/), its device key registered at the collector, the trust folder."""
    etc, var = user.cwd / "etc", user.cwd / "var"
    (etc / "keys").mkdir(parents=True)
    var.mkdir()
    shutil.copytree(pki.trust_dir, etc / "keys" / "trust")
    keylib.write_private_key(etc / "keys" / "device.key", device_key)
    text = (ROOT / "firmware_config" / "residential.toml").read_text()
    text = text.replace("/etc/gate/", f"{etc}/").replace("/var/lib/gate/", f"{var}/")
    config = etc / "gate.toml"
    config.write_text(text)
    for key, value in (("device.id", DEVICE_ID), ("camera.source", "/dev/video-not-plugged-in"),
                       ("temperature.sensor", "simulated"), ("collector.url", collector_server.url)):
        user.gate("config", "set", key, value, "--config", str(config)).ok()
    return config


def test_a_technicians_first_visit(user: User, gate_folder: Path, collector_server, browser) -> None:
    config = str(gate_folder)
    runtime = {"GATE_RUNTIME_DIR": str(user.cwd / "run")}

    # README: set the password, turn the page on, start it (systemctl: here the command itself)
    user.gate("setup", "passwd", "--config", config, input=PASSWORD + "\n").ok()
    user.gate("config", "set", "setup.enabled", "true", "--config", config).ok()
    screen_port = free_port()
    kiosk = user.start("run", "--config", config, "--simulate-io", "--port", str(screen_port), env=runtime)
    setup = user.start("setup", "serve", "--config", config, "--state-dir", str(user.cwd / "var" / "gate-setup"),
                       "--listen", "127.0.0.1:0", env=runtime)
    try:
        line = first_line(setup)
        match = re.match(r"setup page at (https://127\.0\.0\.1:\d+/setup/) \(certificate SHA-256 ([0-9A-F:]{95})\)", line)
        assert match, line
        url, printed = match.groups()
        cert = gate_folder.parent / "keys" / "setup-cert.pem"
        doctor = user.gate("doctor", "--config", config)
        assert printed in doctor.stdout  # the fingerprint to compare with the browser's
        wait_for(lambda: (user.cwd / "run" / "control.json").exists(), "the kiosk's control channel")

        with phone_page(browser, cert) as page:
            page.goto(url)
            # before sign-in: signing in, and nothing else
            assert page.locator("#login").is_visible() and page.locator("#password").is_visible()
            for hidden in ("#app", "#settings", "#camera", "#thermo", "#service", "#tests", "#doctor", "#logout"):
                assert not page.locator(hidden).is_visible(), hidden
            assert "设置密码 Setup password" in page.locator("#login").inner_text()
            if SCREENSHOTS:
                page.screenshot(path=str(Path(SCREENSHOTS) / "setup-signin.png"))

            # a wrong password, said in the page's words
            page.fill("#password", "not the password")
            page.click("#login-form button")
            error = page.locator("#login-error")
            error.filter(has_text="wrong password").wait_for()
            assert error.is_visible() and error.inner_text().startswith("密码错误")
            assert not page.locator("#app").is_visible()

            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            page.locator("#app").wait_for(state="visible")
            assert not page.locator("#login").is_visible()
            page.locator("#kiosk-state", has_text="闸机运行中 · Gate running").wait_for()

            # service mode on: the page, the gate's screen and the heartbeat say so
            page.click("#service-toggle")
            state = page.locator("#service-state")
            state.filter(has_text="Out of service").wait_for()
            assert state.inner_text().startswith("维护中")
            assert page.locator("#service-toggle").inner_text() == "恢复通行 · Put the gate back in service"
            screen = page.context.new_page()
            screen.goto(f"http://127.0.0.1:{screen_port}/")
            screen.locator("#fault-list li", has_text=OUT_OF_SERVICE).wait_for()
            assert screen.locator("#shut-prompt").is_visible()
            user.gate("sync", "--once", "--config", config, env=runtime).ok()
            _, heartbeat = collector_server.latest_heartbeat()
            assert "in_service_mode" in heartbeat["faults"]

            # each test and the thermometer, allowed while it lasts
            result = page.locator("#test-result")
            for part, done in (("relay", "完成 · relay pulsed"), ("lights", "完成 · lights cycling"),
                               ("buzzer", "完成 · buzzer sounded")):
                page.click(f"#tests button[data-part={part}]")
                result.filter(has_text=done).wait_for()
                assert result.is_visible()
            page.locator("#t-final", has_text="36.60 °C").wait_for()  # the simulated sensor's reading
            assert page.locator("#t-final").is_visible()

            # service mode off: back in service on the page and the screen
            page.click("#service-toggle")
            state.filter(has_text="正常通行 · In service").wait_for()
            screen.locator("#fault-list li", has_text=OUT_OF_SERVICE).wait_for(state="detached")
            # what stays is true: no camera is plugged in yet
            assert screen.locator("#fault-list li", has_text="Camera lost").is_visible()

            # a venue change, saved and put in force by the running kiosk
            page.select_option("#f-venue\\.type", "metro")
            page.click("#save")
            saved = page.locator("#config-result")
            saved.filter(has_text="Saved and in force").wait_for()
            assert saved.inner_text().startswith("已保存并生效") and "venue.type" in saved.inner_text()
            assert 'type = "metro"' in gate_folder.read_text()
            assert "# Rules (venue-rules.md)" in gate_folder.read_text()  # comments kept

            page.click("#logout")
            page.locator("#login").wait_for(state="visible")
            assert not page.locator("#app").is_visible()
    finally:
        setup_err = stop(setup)
        kiosk_err = stop(kiosk)
    assert setup.returncode == 0 and "Traceback" not in setup_err, setup_err
    assert kiosk.returncode == 0 and "Traceback" not in kiosk_err, kiosk_err
    assert "ERROR gate.hardware.speaker" not in setup_err
    changes = (user.cwd / "var" / "gate-setup" / "changes.jsonl").read_text()
    assert changes.count('"key": "service_mode"') == 2 and '"key": "venue.type"' in changes
