"""`gate collector`: serving, devices, people and tracing, on a real SQLite file."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.cli import main
from gate.collector import django_db
from gate.collector.models import AuditEntry, Device


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'collector.db'}"


@pytest.fixture
def public_key():
    return Ed25519PrivateKey.generate().public_key()


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["collector", *args], input=input)


def device(db_url: str, device_id: str) -> Device | None:
    with django_db.activate(django_db.database_alias(db_url)):
        return Device.objects.filter(pk=device_id).first()


def audit_actions(db_url: str) -> list[str]:
    with django_db.activate(django_db.database_alias(db_url)):
        return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_add_device_takes_a_pem_file(tmp_path, db_url, public_key):
    pem = tmp_path / "device.pub.pem"
    pem.write_bytes(public_key.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    result = run("add-device", "gate-nc-0001", str(pem), "--db", db_url)
    assert result.exit_code == 0, result.output
    registered = device(db_url, "gate-nc-0001")
    assert registered.public_key == devicesig.public_key_b64(public_key)
    assert registered.enabled
    assert audit_actions(db_url) == ["device.add"]


def test_add_device_refuses_an_existing_id_unless_replace(db_url, public_key):
    b64 = devicesig.public_key_b64(public_key)
    assert run("add-device", "g1", b64, "--db", db_url).exit_code == 0
    assert run("disable-device", "g1", "--db", db_url).exit_code == 0
    other = devicesig.public_key_b64(Ed25519PrivateKey.generate().public_key())
    result = run("add-device", "g1", other, "--db", db_url)
    assert result.exit_code == 2
    assert result.output.strip() == "device g1 is already registered; give --replace to replace its key."
    assert device(db_url, "g1").public_key == b64
    result = run("add-device", "g1", other, "--db", db_url, "--replace")
    assert result.exit_code == 0, result.output
    replaced = device(db_url, "g1")
    assert replaced.public_key == other
    assert not replaced.enabled  # replacing a key does not re-enable a disabled gate


def test_add_device_refuses_a_key_registered_to_another_device(db_url, public_key):
    b64 = devicesig.public_key_b64(public_key)
    assert run("add-device", "g1", b64, "--db", db_url).exit_code == 0
    for extra in ([], ["--replace"]):
        result = run("add-device", "g2", b64, "--db", db_url, *extra)
        assert result.exit_code == 2
        assert result.output.strip() == "this public key is already registered to device g1."
    assert device(db_url, "g2") is None


def test_enable_device_accepts_a_disabled_device_again(db_url, public_key):
    assert run("add-device", "g1", devicesig.public_key_b64(public_key), "--db", db_url).exit_code == 0
    assert run("disable-device", "g1", "--db", db_url).exit_code == 0
    assert not device(db_url, "g1").enabled
    result = run("enable-device", "g1", "--db", db_url)
    assert (result.exit_code, result.output.strip()) == (0, "device g1 enabled")
    assert device(db_url, "g1").enabled
    assert audit_actions(db_url) == ["device.add", "device.disable", "device.enable"]
    assert run("enable-device", "nobody", "--db", db_url).exit_code == 2


def test_a_bad_key_is_one_line_and_exit_2(db_url):
    result = run("add-device", "g1", "not-a-key", "--db", db_url)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "PEM file path or base64 SPKI" in result.output


def test_disabling_an_unknown_device_is_exit_2(db_url):
    result = run("disable-device", "nobody", "--db", db_url)
    assert result.exit_code == 2
    assert "no device nobody" in result.output


def test_an_unsupported_database_url_is_exit_2(public_key):
    result = run("add-device", "g1", devicesig.public_key_b64(public_key), "--db", "mysql://x")
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_checks_until_interrupted(tmp_path, db_url):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gate.cli import main; main()", "collector", "serve",
         "--db", db_url, "--port", str(port), "--lists", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "collector did not start"
                time.sleep(0.1)
        assert answer.json() == {"ok": True}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
