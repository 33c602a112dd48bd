"""The kiosk's local control channel: loopback only, secret token, refused while deciding."""

from __future__ import annotations

import json
import stat

import pytest
import requests

from gate.control import CONTROL_FILE, Busy, KioskClient, KioskUnavailable
from gate.tls import ensure_certificate, fingerprint
from tests.setup.kit import RunningGate, write_gate


@pytest.fixture
def gate(tmp_path, pki, monkeypatch):
    monkeypatch.setenv("GATE_RUNTIME_DIR", str(tmp_path / "run"))
    path = write_gate(tmp_path / "etc", pki.trust_dir, "")
    ensure_certificate(path.parent / "keys", hostname="localhost")
    running = RunningGate.start(path)
    yield running
    running.close()


def control_file(tmp_path):
    return tmp_path / "run" / CONTROL_FILE


def test_the_channel_listens_on_loopback_and_its_file_is_for_the_gate_group_only(gate, tmp_path):
    info = json.loads(control_file(tmp_path).read_text())
    assert info["url"].startswith("http://127.0.0.1:")
    assert stat.S_IMODE(control_file(tmp_path).stat().st_mode) == 0o640


def test_a_request_without_the_token_is_refused(gate, tmp_path):
    info = json.loads(control_file(tmp_path).read_text())
    session = requests.Session()
    session.trust_env = False
    assert session.post(info["url"] + "/control/test/relay", timeout=5).status_code == 403
    assert session.post(info["url"] + "/control/test/relay", headers={"X-Gate-Control": "guess"},
                        timeout=5).status_code == 403
    assert not gate.kiosk.pipeline.body.relay_open


def test_the_client_pulses_the_relay_and_is_refused_while_a_scan_is_decided(gate, tmp_path):
    client = KioskClient(tmp_path / "run")
    with gate.kiosk.deciding:
        with pytest.raises(Busy):
            client.test("relay")
    assert client.test("relay") == "relay pulsed"


def test_the_file_goes_when_the_kiosk_stops_and_the_client_says_no_kiosk_is_running(gate, tmp_path):
    gate.close()
    assert not control_file(tmp_path).exists()
    with pytest.raises(KioskUnavailable, match="no kiosk is running"):
        KioskClient(tmp_path / "run").status()


def test_the_idle_screen_gets_the_setup_certificates_fingerprint(gate):
    cert = gate.config_path.parent / "keys" / "setup-cert.pem"
    assert gate.kiosk.idle_extra["setup_fingerprint"] == fingerprint(cert)


def test_the_status_reports_frames_and_the_last_reload(gate, tmp_path):
    client = KioskClient(tmp_path / "run")
    gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    status = client.status()
    assert status["reload"]["ok"] is True and len(status["config_sha256"]) == 64
