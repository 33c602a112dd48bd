"""A new operator's first hour, as a person does it: every command typed at a fresh shell (a clean
environment, no Django settings in it), the collector served on loopback by `gate collector serve`,
a gate's scans replayed into its store and synced with `gate sync --once`, then the console in real
Chromium, signed in as a viewer, a tracer and an admin, each seeing what their role is for.

The first hour (the `first_hour` fixture, once for the file):

    keys (anchor, issuer, device, directive; signed lists the anchor delegates the directive key in)
    and a gate's file (`gate config set`)
    -> collector add-user (each role) / set-role / disable-user / add-device / disable-device
       / devices --json / venue-card (read back with `gate scan-image`)
    -> collector serve (port 0 on 127.0.0.1) -> gate replay (a green and a red code)
    -> disable-device: gate sync --once refused -> enable-device: gate sync --once delivers
    -> collector devices --json / trace / drop-before, and the console in Chromium;
    scripts/provision.sh's printed registration line, typed at the collector's shell.

Each refusal a new operator meets (an unknown device or user, a role that does not exist, a missing
or bad argument, a busy port) is one line on stderr, exit 2, no traceback.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.journeys.userkit import ROOT, VENV_BIN, Done, User

DEVICE = "gate-nc-0001"
SPARE = "gate-nc-0002"
VENUE = "360102-012-north-gate"
PASSWORDS = {name: f"{name} has a long pass phrase" for name in ("zhao", "qian", "sun", "li", "wang")}
ROLES = {"zhao": "viewer", "qian": "tracer", "sun": "admin", "li": "viewer", "wang": "viewer"}


@dataclass
class FirstHour:
    """What the operator made and saw in the first hour."""

    user: User
    url: str             # the collector's base URL
    alice: str           # the green code's subject (sub, hex): allowed in
    bob: str             # the red code's subject: held, an alert
    refused: Done        # `gate sync --once` while the gate was disabled
    synced: str          # what `gate sync --once` said once it was enabled
    devices: list[dict]  # `gate collector devices --json` after the sync
    trace: dict          # `gate collector trace --sub ALICE --json`


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _serve(user: User, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`gate collector serve ARGS` in the background; its base URL from the line it prints."""
    proc = user.start("collector", "serve", *args)
    assert proc.stderr is not None
    said: list[str] = []
    for line in proc.stderr:
        said.append(line)
        found = re.match(r"collector on (http://127\.0\.0\.1:\d+) ", line)
        if found:
            _drain(proc)
            return proc, found.group(1)
    proc.wait(10)
    raise AssertionError("gate collector serve ended before listening:\n" + "".join(said))


def _drain(proc: subprocess.Popen[str]) -> None:
    """Keep reading the server's output, so a full pipe never stops it mid-journey."""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            threading.Thread(target=stream.read, daemon=True).start()


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()  # as systemd stops it (SIGINT is ignored where the suite runs in the background)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _make_keys_and_gate(user: User) -> tuple[str, str]:
    """The README's keys, a trust folder, a gate's file; the QR texts of a green and a red code."""
    user.gate("keys", "new", "anchor", "--out", "keys/anchor.key").ok()
    user.gate("keys", "new", "issuer", "--alg", "ES256", "--out", "keys/issuer-sx.key").ok()
    user.gate("keys", "new", "device", "--out", "keys/device.key").ok()
    user.gate("keys", "new", "directive", "--out", "directive.key").ok()  # beside the lists folder
    user.gate("keys", "trustlist", "--anchor", "keys/anchor.key", "--out", "lists/trustlist.json",
              "--version", "2", "--issuer", "CN-ZJ-SX=keys/issuer-sx.pem", "--directive", "directive.pem").ok()
    user.gate("keys", "statuslist", "--anchor", "keys/anchor.key", "--out", "lists/statuslist.json",
              "--version", "5").ok()
    # the gate's trust folder: the anchor, and the lists the collector serves
    trust = user.cwd / "trust"
    (trust / "anchors").mkdir(parents=True)
    shutil.copy(user.cwd / "keys" / "anchor.pem", trust / "anchors" / "anchor.pem")
    for name in ("trustlist.json", "trustlist.json.sig", "statuslist.json", "statuslist.json.sig"):
        shutil.copy(user.cwd / "lists" / name, trust / name)
    shutil.copy(ROOT / "firmware_config" / "residential.toml", user.cwd / "gate.toml")
    for key, value in (("device.key", "keys/device.key"), ("trust.dir", "trust"), ("store.path", "scans.db"),
                       ("temperature.sensor", "simulated")):
        user.gate("config", "set", key, value, "--config", "gate.toml").ok()
    green = user.gate("code", "issue", "--key", "keys/issuer-sx.key", "--issuer", "CN-ZJ-SX", "--status", "green",
                      "--subject", "alice", "--home", "360102-012").ok().stdout.strip()
    red = user.gate("code", "issue", "--key", "keys/issuer-sx.key", "--issuer", "CN-ZJ-SX", "--status", "red",
                    "--subject", "bob", "--home", "360102-012").ok().stdout.strip()
    return green, red


def _register(user: User) -> None:
    """People in each role and the gates, as the README and provision.sh say."""
    for name, role in ROLES.items():
        said = user.gate("collector", "add-user", name, "--role", role, input=PASSWORDS[name] + "\n").ok()
        assert said.stdout.strip() == f"user {name} added with role {role}"
    user.gate("collector", "set-role", "wang", "tracer").ok()      # wang moves to tracing
    user.gate("collector", "disable-user", "li").ok()              # li has left
    user.gate("collector", "add-device", DEVICE, "keys/device.pem").ok()
    user.gate("keys", "new", "device", "--out", "keys/spare.key").ok()
    user.gate("collector", "add-device", SPARE, "keys/spare.pem").ok()
    user.gate("collector", "disable-device", SPARE).ok()
    listed = {row["id"]: row for row in _json_lines(user.gate("collector", "devices", "--json").ok().stdout)}
    assert {d: (row["enabled"], row["online"]) for d, row in listed.items()} == {
        DEVICE: (True, False), SPARE: (False, False)}  # no heartbeat yet
    card = user.gate("collector", "venue-card", "--venue-id", VENUE, "--type", "residential",
                     "--community", "360102-012", "--device", DEVICE, "--out", "card.png").ok()
    assert card.stdout.startswith("wrote card.png: venue 360102-012-north-gate (residential)")
    shown = json.loads(user.gate("scan-image", "--json", "card.png").ok().stdout.splitlines()[0])
    assert "JKMV1:" in json.dumps(shown)  # the printed card is a readable venue card


@pytest.fixture(scope="module")
def first_hour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstHour]:
    root = tmp_path_factory.mktemp("operator")
    user = User(home=root / "home", cwd=root / "work")
    user.home.mkdir()
    user.cwd.mkdir()
    green, red = _make_keys_and_gate(user)
    _register(user)
    server, url = _serve(user, "--lists", "lists", "--port", "0")
    try:
        now = int(time.time())
        events = [{"t": now - 120, "qr": green, "temp_c": 36.5}, {"t": now - 60, "qr": red, "temp_c": 36.7}]
        (user.cwd / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        decided = _json_lines(user.gate("replay", "--config", "gate.toml", "--events", "events.jsonl").ok().stdout)
        assert [d["decision"] for d in decided] == ["allow", "hold"]
        user.gate("config", "set", "collector.url", url, "--config", "gate.toml").ok()
        user.gate("collector", "disable-device", DEVICE).ok()      # not trusted yet ...
        refused = user.gate("sync", "--config", "gate.toml", "--once")
        user.gate("collector", "enable-device", DEVICE).ok()       # ... and now it is
        synced = user.gate("sync", "--config", "gate.toml", "--once").ok().stdout + \
            user.gate("sync", "--config", "gate.toml", "--once").ok().stdout  # the second: nothing left
        devices = _json_lines(user.gate("collector", "devices", "--json").ok().stdout)
        alice = decided[0]["code"]["sub"]
        trace = json.loads(user.gate("collector", "trace", "--sub", alice, "--issuer", "CN-ZJ-SX", "--json").ok().stdout)
        yield FirstHour(user, url, alice, decided[1]["code"]["sub"], refused, synced, devices, trace)
    finally:
        _stop(server)


# --- the commands ------------------------------------------------------------------------------

def test_sync_delivers_the_gates_records_and_its_alert(first_hour):
    assert "2 uploaded" in first_hour.synced and "1 alerts" in first_hour.synced
    assert "0 still queued" in first_hour.synced


def test_the_gate_is_online_after_its_first_sync_and_the_disabled_one_is_not(first_hour):
    rows = {row["id"]: row for row in first_hour.devices}
    assert rows[DEVICE]["enabled"] and rows[DEVICE]["online"] and rows[DEVICE]["last_heartbeat_at"]
    assert not rows[SPARE]["enabled"] and not rows[SPARE]["online"]


def test_trace_finds_the_visit_and_the_contact_at_the_same_gate(first_hour):
    assert [v["venue_id"] for v in first_hour.trace["visits"]] == [VENUE]
    assert [(c["sub"], c["venue_id"]) for c in first_hour.trace["contacts"]] == [(first_hour.bob, VENUE)]


def test_drop_before_removes_older_records_and_keeps_newer_ones(first_hour):
    user = first_hour.user
    with sqlite3.connect(user.cwd / "collector.db") as served, sqlite3.connect(user.cwd / "copy.db") as copied:
        served.backup(copied)  # a copy (WAL included) to drop from: the served database stays as it is
    copy = "sqlite:///copy.db"
    kept = user.gate("collector", "drop-before", "2020-01-01", "--db", copy).ok()
    assert kept.stdout.startswith("records before 2020-01-01T00:00:00+00:00 removed")
    visits = json.loads(user.gate("collector", "trace", "--sub", first_hour.alice, "--json", "--db", copy).ok().stdout)
    assert len(visits["visits"]) == 1
    user.gate("collector", "drop-before", str(int(time.time()) + 60), "--db", copy).ok()
    gone = json.loads(user.gate("collector", "trace", "--sub", first_hour.alice, "--json", "--db", copy).ok().stdout)
    assert gone["visits"] == [] and gone["contacts"] == []


def test_a_disabled_gate_cannot_deliver_and_is_told_why(first_hour):
    refused = first_hour.refused
    assert refused.returncode == 1, refused  # records remain queued
    assert "Traceback" not in refused.stdout + refused.stderr
    assert "0 uploaded" in refused.stdout and "2 still queued" in refused.stdout
    assert f"the collector has disabled device '{DEVICE}'" in refused.stderr


# --- the console in Chromium ---------------------------------------------------------------------

def _sign_in(browser_page, url: str, name: str, locale: str = "zh-CN"):
    page = browser_page(1280, 900, locale=locale)
    page.goto(url + "/console/")
    assert "/console/login" in page.url  # no session: the sign-in page first
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("#sign-in")
    page.wait_for_selector("#sign-out")
    return page


def test_the_viewer_sees_the_gate_online_and_its_alert(first_hour, browser_page):
    page = _sign_in(browser_page, first_hour.url, "zhao")
    page.click("nav >> text=设备总览")
    row = page.locator(f'#fleet tr[data-device="{DEVICE}"]')
    assert row.is_visible() and "在线" in row.inner_text() and VENUE in row.inner_text()
    page.click("nav >> text=预警")
    alert = page.locator("#alerts tr[data-record]")
    alert.first.wait_for()
    assert alert.count() == 1 and alert.first.is_visible()
    text = alert.first.inner_text()
    assert "红码" in text and VENUE in text and "36.7" in text
    assert page.locator("nav >> text=扫码记录").count() == 0  # records are the tracers'


def test_the_tracer_sees_the_records_and_a_trace(first_hour, browser_page):
    page = _sign_in(browser_page, first_hour.url, "qian", locale="en-US")
    page.click("nav >> text=Records")
    page.click("#search button[type=submit]")  # the last 7 days
    rows = page.locator("#records tr[data-record]")
    rows.first.wait_for()
    assert rows.count() == 2 and all(rows.nth(i).is_visible() for i in range(2))
    page.click("nav >> text=Contact tracing")
    page.fill("input[name=sub]", first_hour.alice)
    page.click("#run-trace")
    page.locator("#timeline").wait_for()
    visit = page.locator("#timeline li[data-record]")
    assert visit.count() == 1 and visit.first.is_visible() and VENUE in visit.first.inner_text()
    contacts = page.locator(f'section.venue[data-venue="{VENUE}"] tr[data-record]')
    assert contacts.count() == 1 and first_hour.bob in contacts.first.inner_text()
    assert page.locator("nav >> text=Audit log").count() == 0  # the audit log is the admins'


def test_set_role_gives_the_console_the_new_role_and_a_disabled_user_cannot_sign_in(first_hour, browser_page):
    page = _sign_in(browser_page, first_hour.url, "wang", locale="en-US")  # added a viewer, made a tracer
    assert page.locator("nav >> text=Contact tracing").is_visible()
    page = browser_page(1280, 900, locale="en-US")
    page.goto(first_hour.url + "/console/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORDS["li"])
    page.click("#sign-in")
    assert page.locator(".error").is_visible() and "/console/login" in page.url


def test_the_admin_sees_the_gates_the_people_and_every_command_in_the_audit_log(first_hour, browser_page):
    page = _sign_in(browser_page, first_hour.url, "sun", locale="en-US")
    page.click("nav >> text=Devices")
    assert page.get_by_text(DEVICE).first.is_visible() and page.get_by_text(SPARE).first.is_visible()
    page.click("nav >> text=People")
    body = page.locator("main").inner_text()
    assert all(name in body for name in ROLES)
    page.click("nav >> text=Audit log")
    log = page.locator("main").inner_text()
    for action in ("user.add", "user.set_role", "user.disable", "device.add", "device.disable", "device.enable",
                   "venue_card.issue", "trace"):
        assert action in log, action
    assert "cli:" in log  # the commands are the operator's own, at the server's shell


# --- refusals: one line, exit 2, no traceback --------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (("disable-device", "gate-nowhere"), "no device gate-nowhere is registered"),
    (("enable-device", "gate-nowhere"), "no device gate-nowhere is registered"),
    (("set-role", "nobody", "admin"), "no user nobody"),
    (("disable-user", "nobody"), "no user nobody"),
    (("set-role", "nobody", "boss"), "'boss' is not one of"),
    (("add-user", "ana", "--role", "boss"), "'boss' is not one of"),
    (("add-user", "ana"), "Missing option '--role'"),
    (("add-device", "gate-x", "no-such-key.pem"), "cannot use \"no-such-key.pem\""),
    (("trace",), "Missing option '--sub'"),
    (("trace", "--sub", "ab", "--from", "yesterday"), "'yesterday' is not an ISO 8601 time"),
    (("drop-before", "last year"), "'last year' is not an ISO 8601 time"),
    (("venue-card", "--venue-id", VENUE, "--type", "residential", "--key", "nowhere.key", "--out", "card2.png"),
     "cannot load the directive key"),
    (("add-device", DEVICE, "keys/spare.pem"), "already"),
    (("devices", "--db", "mysql://nowhere/db"), "mysql"),
    (("no-such-command",), "No such command"),
])
def test_a_refusal_is_one_line_exit_2_and_no_traceback(first_hour, args, says):
    done = first_hour.user.gate("collector", *args, input="a long enough pass phrase\n").refused()
    assert says in done.stderr


def test_a_short_password_is_refused_in_one_line(first_hour):
    first_hour.user.gate("collector", "add-user", "ana", "--role", "admin", input="short\n").refused()


def test_a_busy_port_is_refused_in_one_line_before_anything_is_written(user):
    first, url = _serve(user, "--port", "0", "--db", "sqlite:///first.db")
    try:
        port = url.rsplit(":", 1)[1]
        before = sorted(p.name for p in user.cwd.iterdir())
        done = user.gate("collector", "serve", "--port", port).refused()
        assert done.stderr.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use."
        assert sorted(p.name for p in user.cwd.iterdir()) == before  # no collector.db, no collector.secret
        assert not (user.cwd / "collector.db").exists() and not (user.cwd / "collector.secret").exists()
    finally:
        _stop(first)


# --- scripts/provision.sh: the line it prints is the one the collector takes ---------------------

def test_provision_prints_the_registration_the_collector_takes(first_hour):
    user = first_hour.user
    made = user.run("bash", str(ROOT / "scripts" / "provision.sh"), "--id", "gate-nc-0003",
                    "--out", str(user.cwd / "provisioned" / "device.key"), "--gate", str(VENV_BIN / "gate")).ok()
    line = next(text.strip() for text in made.stdout.splitlines() if text.strip().startswith("gate collector add-device"))
    user.run("bash", "-c", line).ok()  # typed as printed, at the collector's shell
    listed = {row["id"]: row for row in _json_lines(user.gate("collector", "devices", "--json").ok().stdout)}
    assert listed["gate-nc-0003"]["enabled"]
    user.run("bash", "-c", line).refused()  # once is enough: a known id is refused in one line
