"""`gate collector`: registering devices and serving."""

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
from gate.collector.db import open_database


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'collector.db'}"


@pytest.fixture
def public_key():
    return Ed25519PrivateKey.generate().public_key()


def run(*args: str):
    return CliRunner().invoke(main, ["collector", *args])


def test_add_device_takes_a_pem_file(tmp_path, db_url, public_key):
    pem = tmp_path / "device.pub.pem"
    pem.write_bytes(public_key.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    result = run("add-device", "gate-nc-0001", str(pem), "--db", db_url)
    assert result.exit_code == 0, result.output
    device = open_database(db_url).device("gate-nc-0001")
    assert device.public_key == devicesig.public_key_b64(public_key)
    assert device.enabled


def test_add_device_takes_base64_spki_and_re_enables(db_url, public_key):
    b64 = devicesig.public_key_b64(public_key)
    assert run("add-device", "g1", b64, "--db", db_url).exit_code == 0
    assert run("disable-device", "g1", "--db", db_url).exit_code == 0
    assert not open_database(db_url).device("g1").enabled
    assert run("add-device", "g1", b64, "--db", db_url).exit_code == 0
    assert open_database(db_url).device("g1").enabled


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
