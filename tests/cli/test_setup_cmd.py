"""`gate setup passwd|serve|cert` and the doctor's setup line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from gate.cli import main
from gate.config import load_config
from gate.setup.auth import password_matches
from gate.tls import cert_paths, fingerprint
from tests.setup.kit import write_gate


@pytest.fixture
def gate_file(tmp_path, pki) -> Path:
    return write_gate(tmp_path / "etc", pki.trust_dir, "")


def test_passwd_stores_only_an_argon2id_hash_keeping_the_files_comments(gate_file):
    result = CliRunner().invoke(main, ["setup", "passwd", "--config", str(gate_file)], input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    stored = load_config(gate_file).setup.password_hash
    assert stored.startswith("$argon2id$") and "a long passphrase" not in gate_file.read_text()
    assert password_matches(stored, "a long passphrase") and not password_matches(stored, "a long passphrasE")
    assert "# The test gate: a residential compound's north gate." in gate_file.read_text()
    assert "m=65536,t=3" in stored  # argon2-cffi's defaults: slow on purpose


def test_passwd_refuses_a_short_password_in_one_line(gate_file):
    before = gate_file.read_bytes()
    result = CliRunner().invoke(main, ["setup", "passwd", "--config", str(gate_file)], input="short\n")
    assert result.exit_code == 2
    assert result.output.strip() == "the password must have at least 10 characters"
    assert gate_file.read_bytes() == before


def test_serve_says_it_is_off_and_exits_0_when_disabled(gate_file):
    gate_file.write_text(gate_file.read_text().replace("enabled = true", "enabled = false"))
    result = CliRunner().invoke(main, ["setup", "serve", "--config", str(gate_file)])
    assert result.exit_code == 0
    assert result.output.strip() == f"setup page is off ([setup] enabled = false in {gate_file}); nothing to serve"


def test_serve_makes_the_certificate_on_first_start_and_serves_https_until_sigterm(gate_file, tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "gate.cli", "setup", "serve", "--config", str(gate_file),
                                "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "GATE_RUNTIME_DIR": str(tmp_path / "run")})
    try:
        line = process.stdout.readline()
        cert, _ = cert_paths(gate_file.parent / "keys")
        assert line.startswith("setup page at https://127.0.0.1:") and fingerprint(cert) in line
        url = line.split()[3]
        session = requests.Session()
        session.trust_env = False
        answer = session.get(url, verify=str(cert), timeout=10)
        assert answer.status_code == 200 and "Gate setup" in answer.text
        assert session.get(url + "api/config", verify=str(cert), timeout=10).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert process.returncode == 0
    assert "no setup password is set" in process.stderr.read()


def test_cert_prints_the_fingerprint_and_keeps_an_existing_certificate(gate_file):
    first = CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file)])
    again = CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file)])
    assert first.exit_code == 0 and first.output == again.output
    cert, key = cert_paths(gate_file.parent / "keys")
    assert fingerprint(cert) in first.output and key.stat().st_mode & 0o077 == 0


def test_doctor_shows_the_setup_pages_certificate_fingerprint(gate_file):
    CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file)])
    from gate.setup.check import check_setup

    [line] = check_setup(load_config(gate_file))
    assert line.level == "WARN" and "no password set" in line.message  # the page refuses every sign-in
    assert line.details["fingerprint_sha256"] == fingerprint(cert_paths(gate_file.parent / "keys")[0])
    CliRunner().invoke(main, ["setup", "passwd", "--config", str(gate_file)], input="a long passphrase\n")
    [line] = check_setup(load_config(gate_file))
    assert line.level == "OK" and fingerprint(cert_paths(gate_file.parent / "keys")[0]) in line.message


def test_doctor_runs_the_setup_check(gate_file):
    result = CliRunner().invoke(main, ["doctor", "--config", str(gate_file), "--json"])
    names = [c["name"] for c in json.loads(result.output)["checks"]]
    assert "setup" in names


def serve_once(gate_file: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`gate setup serve` as systemd starts it, expected to stop by itself (a refusal)."""
    return subprocess.run([sys.executable, "-m", "gate.cli", "setup", "serve", "--config", str(gate_file),
                           "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"],
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, "GATE_RUNTIME_DIR": str(tmp_path / "run")})


@pytest.mark.parametrize("damage, says", [
    ("fifo-key", "is not a regular file"),
    ("garbage-cert", "is not a PEM certificate"),
    ("garbage-key", "is not an unencrypted PEM private key"),
    ("other-key", "does not belong to its certificate"),
])
def test_serve_refuses_a_bad_certificate_or_key_in_one_line_before_listening(gate_file, tmp_path, damage, says):
    from gate.tls import ensure_certificate, make_certificate

    cert, key = ensure_certificate(gate_file.parent / "keys", hostname="localhost")
    if damage == "fifo-key":
        key.unlink()
        os.mkfifo(key)  # a FIFO would hang a start that opens it
    elif damage == "garbage-cert":
        cert.write_text("garbage\n")
    elif damage == "garbage-key":
        key.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    else:
        key.write_bytes(make_certificate(tmp_path / "other", hostname="x")[1].read_bytes())
    done = serve_once(gate_file, tmp_path)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr and done.stdout == ""
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, done.stderr


def test_cert_renew_replaces_an_old_ca_certificate_which_the_doctor_warns_of(gate_file, tmp_path):
    from gate.setup.check import check_setup
    from gate.tls import is_ca
    from tests.test_tls import old_ca_certificate

    cert, _ = old_ca_certificate(gate_file.parent / "keys")
    old = fingerprint(cert)
    [line] = check_setup(load_config(gate_file))
    assert line.level == "WARN" and "CA:TRUE" in line.message and "gate setup cert --renew" in line.message
    kept = CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file)])
    assert old in kept.output and "--renew" in kept.output and fingerprint(cert) == old
    renewed = CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file), "--renew"])
    assert renewed.exit_code == 0, renewed.output
    assert not is_ca(cert) and fingerprint(cert) != old and fingerprint(cert) in renewed.output
    CliRunner().invoke(main, ["setup", "passwd", "--config", str(gate_file)], input="a long passphrase\n")
    [line] = check_setup(load_config(gate_file))
    assert line.level == "OK" and fingerprint(cert) in line.message


def test_the_doctor_gives_the_page_at_each_network_address_of_the_gate(gate_file):
    from gate.setup.check import check_setup, setup_urls

    addresses = lambda: ["127.0.0.1", "192.168.1.23", "10.0.0.7", "::1", "fe80::1%eth0", "2001:db8::5"]  # noqa: E731
    assert setup_urls("0.0.0.0:8443", addresses) == ["https://192.168.1.23:8443/setup/", "https://10.0.0.7:8443/setup/"]
    assert setup_urls("[::]:8443", addresses) == ["https://192.168.1.23:8443/setup/", "https://10.0.0.7:8443/setup/",
                                                  "https://[2001:db8::5]:8443/setup/"]
    assert setup_urls("192.168.1.23:9443", addresses) == ["https://192.168.1.23:9443/setup/"]
    CliRunner().invoke(main, ["setup", "cert", "--config", str(gate_file)])
    CliRunner().invoke(main, ["setup", "passwd", "--config", str(gate_file)], input="a long passphrase\n")
    gate_file.write_text(gate_file.read_text().replace('listen = "127.0.0.1:8443"', 'listen = "0.0.0.0:8443"'))
    [line] = check_setup(load_config(gate_file), addresses)
    assert line.message.startswith("setup page at https://192.168.1.23:8443/setup/, https://10.0.0.7:8443/setup/,")
    assert "0.0.0.0" not in line.message


def test_the_doctor_finds_this_machines_own_addresses():
    from gate.setup.check import local_addresses

    assert "127.0.0.1" in local_addresses()  # iproute2's `ip -j addr` on this machine
