"""Service mode (spec/setup.md "Service mode") through the setup page's API over real HTTPS, with a
real kiosk behind it: the screen and the heartbeat's faults say so, no scan is decided, the tests
and the thermometer always work, and it ends on its own."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from gate.codes import keys as keylib
from gate.config import load_config
from gate.control import KioskClient
from gate.directives.venue_card import make_card
from gate.kiosk.service_mode import LEASE_S, ServiceMode
from gate.state.faults_now import GateFaults
from tests.pki import NOW
from tests.setup.kit import RunningGate, Screen, blank_frame, code_frame

OUT_OF_SERVICE = "维护中 · Out of service"


@pytest.fixture
def screen() -> Screen:
    return Screen()


@pytest.fixture
def gate(gate_file, runtime, screen):
    running = RunningGate.start(gate_file, display=screen)
    yield running
    running.close()


def records(gate_file: Path) -> int:
    path = load_config(gate_file).store.path
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM records").fetchone()[0]


def changes(state) -> list[dict]:
    path = state.state_dir / "changes.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        threading.Event().wait(0.05)


def test_the_screen_and_the_kiosks_faults_say_out_of_service_until_it_is_turned_off(client, gate, screen, setup_server):
    client.login()
    assert OUT_OF_SERVICE not in screen.lines()
    answer = client.post("/setup/api/service", {"on": True})
    assert answer.status_code == 200 and answer.json()["on"] is True
    assert 0 < answer.json()["left_s"] <= LEASE_S
    assert OUT_OF_SERVICE in screen.lines() and screen.shut
    status = client.get("/setup/api/kiosk").json()
    assert "in_service_mode" in status["faults"] and status["service"]["on"] is True
    assert client.get("/setup/api/service").json()["on"] is True

    assert client.post("/setup/api/service", {"on": False}).json()["on"] is False
    assert OUT_OF_SERVICE not in screen.lines() and not screen.shut
    assert "in_service_mode" not in client.get("/setup/api/kiosk").json()["faults"]
    _, _, state = setup_server
    assert [(c["key"], c["from"], c["to"]) for c in changes(state)] == \
        [("service_mode", False, True), ("service_mode", True, False)]


def test_the_heartbeats_faults_report_it(client, gate, runtime):
    client.login()
    faults = GateFaults(store=None, trust=None, kiosk=KioskClient(runtime))  # type: ignore[arg-type]
    assert "in_service_mode" not in faults.from_kiosk()
    client.post("/setup/api/service", {"on": True})
    assert "in_service_mode" in faults.from_kiosk()


def test_signing_out_ends_it_and_says_so_in_the_change_log(client, gate, setup_server):
    client.login()
    client.post("/setup/api/service", {"on": True})
    assert gate.kiosk.service.on
    client.post("/setup/api/logout")
    assert not gate.kiosk.service.on
    _, _, state = setup_server
    assert changes(state)[-1]["why"] == "the technician signed out"


def test_in_service_mode_a_code_makes_no_record_and_moves_no_relay(client, gate, gate_file, pki):
    client.login()
    client.post("/setup/api/service", {"on": True})
    gate.show(code_frame(pki.code("green")))
    assert gate.outcomes == [] and records(gate_file) == 0
    assert not gate.kiosk.pipeline.body.relay_open
    assert gate.kiosk.stats.out_of_service == 1
    client.post("/setup/api/service", {"on": False})
    gate.show(code_frame(pki.code("green", subject="bob")))  # back in service: decided again
    assert [o.decision.decision for o in gate.outcomes] == ["allow"] and records(gate_file) == 1


def test_in_service_mode_a_venue_card_is_still_read(client, gate, screen, gate_file):
    client.login()
    client.post("/setup/api/service", {"on": True})
    card = make_card(keylib.generate("EdDSA"), "360105-001-east-gate", "residential",
                     community_codes=("360105-001",), issued_at=NOW - 60)
    gate.show(code_frame(card))
    assert gate.kiosk.stats.venue_cards == 1
    assert screen.app.snapshot()["kind"] == "venue_card"  # its step is on the screen (a stranger's key: refused)
    assert records(gate_file) == 0


def test_in_service_mode_the_fire_release_still_opens_the_gate(client, gate):
    client.login()
    client.post("/setup/api/service", {"on": True})
    body = gate.kiosk.pipeline.body
    pin = body.pin_factory.pin(gate.kiosk.pipeline.config.io.fire_release_pin)
    pin.drive_low()
    try:
        assert body.fire_release_active and body.relay_open
    finally:
        pin.drive_high()
    assert not body.relay_open


def test_in_service_mode_the_attendant_button_overrides_nothing(client, gate, pki):
    gate.show(code_frame(pki.code("red")))  # a person held: the button would let them through
    client.login()
    client.post("/setup/api/service", {"on": True})
    body = gate.kiosk.pipeline.body
    pin = body.pin_factory.pin(gate.kiosk.pipeline.config.io.override_button_pin)
    pin.drive_low()
    pin.drive_high()
    assert not body.relay_open
    assert [o.decision.decision for o in gate.outcomes] == ["hold"]


def test_on_a_busy_gate_a_test_is_refused_saying_service_mode_would_allow_it_and_in_it_every_tool_works(
        client, gate, pki):
    client.login()
    gate.show(code_frame(pki.code("green")))  # a person let through: the decision is on show
    refused = client.post("/setup/api/test/buzzer")
    assert refused.status_code == 409 and "service mode" in refused.json()["error"]
    client.post("/setup/api/service", {"on": True})
    assert client.post("/setup/api/test/relay").json()["done"] == "relay pulsed"
    assert client.post("/setup/api/test/buzzer").json()["done"] == "buzzer sounded"
    assert client.post("/setup/api/test/lights").json()["done"].startswith("lights cycling")
    assert client.get("/setup/api/thermometer").status_code == 200
    assert client.post("/setup/api/thermometer/calibrate", {"reference_c": 36.5}).status_code == 200


def test_the_thermometer_reads_while_people_keep_coming(client, gate, pki):
    """A person every moment (a decision always on show): the reading waits only for the scan in hand."""
    client.login()
    stop = threading.Event()

    def people() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            gate.show(code_frame(pki.code("green", subject=f"p{n}")))
            gate.show(blank_frame())

    crowd = threading.Thread(target=people, daemon=True)
    crowd.start()
    try:
        wait_for(lambda: len(gate.outcomes) >= 1)
        answers = [client.get("/setup/api/thermometer").status_code for _ in range(10)]
    finally:
        stop.set()
        crowd.join(10)
    assert answers == [200] * 10
    assert len(gate.outcomes) >= 2 and gate.kiosk.showing()


def test_only_the_technicians_own_actions_keep_it_on_not_the_pages_polling(client, gate):
    now = [0.0]
    gate.kiosk.service = ServiceMode(clock=lambda: now[0])
    client.login()
    client.post("/setup/api/service", {"on": True})

    def left() -> float:
        return client.get("/setup/api/kiosk").json()["service"]["left_s"]  # the page's polling

    now[0] = 600.0
    assert left() == LEASE_S - 600
    client.get("/setup/api/thermometer")  # timed polling: not an action
    client.get("/setup/api/doctor")
    assert left() == LEASE_S - 600
    client.get("/setup/api/doctor", headers={"X-Setup-Asked": "1"})  # the technician pressed Refresh
    assert left() == LEASE_S
    now[0] = 1200.0
    client.post("/setup/api/test/buzzer")  # a test: an action
    assert left() == LEASE_S
    now[0] = 1200.0 + LEASE_S
    wait_for(lambda: not gate.kiosk.service.on)  # the kiosk ends it on its own, between frames
    assert "in_service_mode" not in client.get("/setup/api/kiosk").json()["faults"]


def test_it_ends_on_its_own_and_the_change_log_says_why(client, gate, setup_server):
    _, _, state = setup_server
    state.service.lease_s = 0.3  # 15 minutes in the gate; a moment here
    client.login()
    client.post("/setup/api/service", {"on": True})
    wait_for(lambda: not gate.kiosk.service.on)
    wait_for(lambda: len(changes(state)) == 2)
    assert changes(state)[-1]["why"] == "15 minutes without an action of the technician's"


def test_a_bad_request_is_400_and_changes_nothing(client, gate):
    client.login()
    assert client.post("/setup/api/service", {"on": "yes"}).status_code == 400
    assert not gate.kiosk.service.on
    assert client.post("/setup/api/service", {"on": True}, csrf=False).status_code == 403
    assert not gate.kiosk.service.on
