"""`gate collector`: serving, devices, people and tracing, on a real SQLite file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
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


# --- devices --json: online is a heartbeat within 10 minutes ------------------------------------

def test_devices_json_shows_the_latest_heartbeat_and_online(collector_factory, tmp_path):
    now = time.time()
    db_url = f"sqlite:///{tmp_path / 'fleet.db'}"
    fresh = collector_factory(db_url, clock=lambda: now - 60)
    fresh.post_json("/v1/heartbeat", {"device_id": fresh.device_id, "queue_depth": 4,
                                      "faults": ["camera_lost"]}, timestamp=int(now - 60))
    key = Ed25519PrivateKey.generate()
    assert run("add-device", "gate-silent", devicesig.public_key_b64(key.public_key()),
               "--db", db_url).exit_code == 0
    stale = collector_factory(db_url, clock=lambda: now - 601)
    stale.post_json("/v1/heartbeat", {"device_id": "gate-silent", "queue_depth": 9},
                    key=key, device_id="gate-silent", timestamp=int(now - 601))
    assert run("add-device", "gate-never", devicesig.public_key_b64(
        Ed25519PrivateKey.generate().public_key()), "--db", db_url).exit_code == 0
    result = run("devices", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in map(json.loads, result.output.splitlines())}
    assert set(rows) == {fresh.device_id, "gate-silent", "gate-never"}
    assert rows[fresh.device_id]["online"] is True
    assert rows[fresh.device_id]["queue_depth"] == 4
    assert rows[fresh.device_id]["faults"] == ["camera_lost"]
    assert rows[fresh.device_id]["enabled"] is True
    arrived = datetime.fromisoformat(rows[fresh.device_id]["last_heartbeat_at"])
    assert abs(arrived.timestamp() - (now - 60)) < 0.01
    assert (rows["gate-silent"]["online"], rows["gate-silent"]["queue_depth"]) == (False, 9)
    assert rows["gate-never"] == {"id": "gate-never", "enabled": True,
                                  "last_heartbeat_at": None, "online": False}


# --- people --------------------------------------------------------------------------------------

def test_add_user_reads_the_password_from_stdin_and_hashes_it(db_url):
    from django.contrib.auth.models import User

    from gate.collector.roles import role_of

    result = run("add-user", "li.wei", "--role", "tracer", "--db", db_url,
                 input="correct horse battery\n")
    assert (result.exit_code, result.output.strip()) == (0, "user li.wei added with role tracer")
    with django_db.activate(django_db.database_alias(db_url)):
        user = User.objects.get(username="li.wei")
        assert user.password.startswith("pbkdf2_sha256$") and "correct" not in user.password
        assert user.check_password("correct horse battery")
        assert role_of(user) == "tracer"
    again = run("add-user", "li.wei", "--role", "admin", "--db", db_url, input="another long one\n")
    assert again.exit_code == 2
    assert again.output.strip() == "user li.wei already exists; use set-role to change the role"


def test_a_short_password_is_refused_in_one_line(db_url):
    result = run("add-user", "wang", "--role", "viewer", "--db", db_url, input="short\n")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("password refused:")


def test_set_role_and_disable_user(db_url):
    from django.contrib.auth.models import User

    from gate.collector.roles import role_of

    assert run("add-user", "zhao", "--role", "viewer", "--db", db_url,
               input="a long enough password\n").exit_code == 0
    assert run("set-role", "zhao", "admin", "--db", db_url).exit_code == 0
    with django_db.activate(django_db.database_alias(db_url)):
        assert role_of(User.objects.get(username="zhao")) == "admin"
    assert run("disable-user", "zhao", "--db", db_url).exit_code == 0
    with django_db.activate(django_db.database_alias(db_url)):
        user = User.objects.get(username="zhao")
        assert not user.is_active and role_of(user) is None
    assert audit_actions(db_url) == ["user.add", "user.set_role", "user.disable"]
    missing = run("set-role", "nobody", "tracer", "--db", db_url)
    assert missing.exit_code == 2 and "no user nobody" in missing.output


# --- trace --json --------------------------------------------------------------------------------

def test_trace_json_prints_the_same_result_as_the_query_and_is_audited(db_url):
    from gate.collector import ingest
    from gate.collector.records import check_record
    from gate.collector.tracing import trace
    from tests.collectorkit import new_record

    def scan(sub: str, at: str) -> dict:
        return new_record("gate-a", scanned_at=at, code={
            "valid": True, "reason": "ok", "issuer": "CN-JX", "sub": sub, "cti": "1",
            "status": "green", "itinerary_risk": False})

    visit = scan("ab" * 16, "2026-11-20T10:00:00.000Z")
    contact = scan("cd" * 16, "2026-11-20T10:04:30.000Z")
    alias = django_db.database_alias(db_url)
    with django_db.activate(alias):
        ingest.store_records([check_record(r, "gate-a", 0.0) for r in (visit, contact)], alias)
    result = run("trace", "--db", db_url, "--sub", "AB" * 16, "--issuer", "CN-JX",
                 "--from", "2026-11-19T00:00:00Z", "--to", "1795564800", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["contacts"] == [{
        "issuer": "CN-JX", "sub": "cd" * 16, "record_id": contact["id"],
        "venue_id": contact["venue_id"], "scanned_at": "2026-11-20T10:04:30.000Z",
        "visit_record_id": visit["id"], "minutes_apart": 4.5}]
    with django_db.activate(alias):
        assert printed == trace("ab" * 16, "CN-JX", datetime(2026, 11, 19, tzinfo=timezone.utc),
                                datetime(2026, 11, 25, tzinfo=timezone.utc))
        entry = AuditEntry.objects.get(action="trace")
    assert entry.count == 2 and entry.what["sub"] == "ab" * 16


def test_trace_with_a_bad_time_is_one_line_and_exit_2(db_url):
    result = run("trace", "--db", db_url, "--sub", "ab", "--from", "soon", "--json")
    assert result.exit_code == 2
    assert result.output.strip() == "'soon' is not an ISO 8601 time or epoch seconds."


# --- serve --directive-key: the console signs with the key beside the lists folder ---------------

def test_serve_gives_the_console_the_directive_key_beside_the_lists_folder(tmp_path, db_url):
    import re

    from gate.codes import keys as keylib

    made = subprocess.run([sys.executable, "-m", "gate.cli", "keys", "new", "directive", "--out",
                           str(tmp_path / "directive.key")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    kid = keylib.b64url(keylib.kid_of(keylib.spki_der(
        keylib.load_private_key(tmp_path / "directive.key").public_key())))
    (tmp_path / "lists").mkdir()
    assert run("add-user", "boss", "--role", "admin", "--db", db_url,
               input="a long enough pass phrase\n").exit_code == 0
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gate.cli import main; main()", "collector", "serve",
         "--db", db_url, "--port", str(port), "--lists", str(tmp_path / "lists")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "collector did not start"
                time.sleep(0.1)
        session = requests.Session()
        login = session.get(f"{base}/console/login", timeout=5).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        signed_in = session.post(f"{base}/console/login", timeout=5, headers={"Referer": f"{base}/console/login"},
                                 data={"csrfmiddlewaretoken": token, "username": "boss",
                                       "password": "a long enough pass phrase"})
        assert signed_in.status_code == 200 and "/console/login" not in signed_in.url
        page = session.get(f"{base}/console/bulletins", timeout=5).text
        assert f'id="directive-kid">{kid}<' in page
        assert 'id="not-delegated"' in page  # the lists folder serves no trust list yet
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def _clean_env(**extra: str) -> dict[str, str]:
    """A new shell's environment: nothing of the suite's Django set-up (DJANGO_SETTINGS_MODULE) or
    gate variables leaks into the command."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GATE_", "PYTEST"))}
    return {**env, **extra}


def _gate(*args: str, cwd: Path, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from gate.cli import main; main()", *args], cwd=cwd,
                          input=input, capture_output=True, text=True, env=_clean_env(**env), timeout=60)


def _serve_until_listening(args: list[str], cwd: Path, **env: str) -> tuple[subprocess.Popen, list[str]]:
    """Start `gate collector serve ARGS` and read its stderr up to the line giving its address."""
    proc = subprocess.Popen([sys.executable, "-c", "from gate.cli import main; main()", "collector", "serve",
                             *args], cwd=cwd, env=_clean_env(**env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith("collector on http://"):
            return proc, lines
    proc.wait(10)
    raise AssertionError("serve ended before listening:\n" + "\n".join(lines))


def test_serve_says_where_it_looked_for_a_missing_directive_key(tmp_path, db_url):
    lists = str(tmp_path / "lists")
    for env, where in (({}, tmp_path / "directive.key"),
                       ({"GATE_DIRECTIVE_KEY": str(tmp_path / "elsewhere.key")}, tmp_path / "elsewhere.key")):
        proc, lines = _serve_until_listening(["--db", db_url, "--port", "0", "--lists", lists], tmp_path, **env)
        try:
            assert any(line.startswith(f"warning: no directive key at {where};") for line in lines), lines
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)


def test_serve_on_port_0_says_the_port_it_took(tmp_path, db_url):
    proc, lines = _serve_until_listening(["--db", db_url, "--port", "0", "--lists", str(tmp_path)], tmp_path)
    try:
        port = int(lines[-1].split("http://127.0.0.1:")[1].split(" ")[0])
        assert port > 0
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"ok": True}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_serve_refuses_a_busy_port_in_one_line_before_writing_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _gate("collector", "serve", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use."
    assert "Traceback" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no collector.db, no collector.secret


def test_a_busy_port_leaves_an_existing_collector_untouched(tmp_path):
    db = tmp_path / "collector.db"
    assert _gate("collector", "add-user", "ana", "--role", "admin", cwd=tmp_path,
                 input="a long enough pass phrase\n").returncode == 0
    before = db.read_bytes()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = _gate("collector", "serve", "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert db.read_bytes() == before and not (tmp_path / "collector.secret").exists()


@pytest.mark.parametrize("args", [
    ("devices", "--json"),
    ("set-role", "nobody", "viewer"),
    ("trace", "--sub", "ab"),
])
def test_management_commands_configure_django_themselves_in_a_fresh_process(tmp_path, args):
    """No DJANGO_SETTINGS_MODULE in the environment (as in a new shell): the command still runs."""
    done = _gate("collector", *args, cwd=tmp_path)
    assert "Traceback" not in done.stderr and "ImproperlyConfigured" not in done.stderr, done.stderr
    assert done.returncode in (0, 2), done.stderr
    assert (tmp_path / "collector.db").is_file()


def test_any_command_added_to_the_group_finds_django_configured_before_it_imports_a_model(tmp_path):
    probe = (
        "import click\n"
        "from gate.cli import main\n"
        "from gate.cli.collector_cmd import collector\n"
        "@collector.command('probe')\n"
        "def probe():\n"
        "    from gate.collector.audit import audit_command  # the models, imported by a new command\n"
        "    click.echo(audit_command.__module__)\n"
        "main(['collector', 'probe'], prog_name='gate')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          env=_clean_env(), timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "gate.collector.audit", done.stderr


def test_loading_the_collector_commands_imports_no_model():
    loaded = subprocess.run([sys.executable, "-c", "import sys, gate.cli.collector_cmd; "
                             "print(sorted(m for m in sys.modules if m.startswith('gate.collector.')))"],
                            capture_output=True, text=True, env=_clean_env(), timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert "gate.collector.models" not in loaded.stdout and "gate.collector.audit" not in loaded.stdout
