"""The setup page's JSON API over real HTTPS on loopback, with a real kiosk behind it."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from gate.config import load_config
from gate.setup.auth import LOCKOUT_S
from tests.setup.kit import PASSWORD, SetupClient, blank_frame, code_frame

API_GETS = ["/setup/api/config", "/setup/api/doctor", "/setup/api/thermometer", "/setup/api/camera",
            "/setup/api/kiosk", "/setup/api/session", "/setup/camera.mjpg", "/setup/camera.jpg"]
API_POSTS = ["/setup/api/logout", "/setup/api/config", "/setup/api/test/relay", "/setup/api/test/lights",
             "/setup/api/test/buzzer", "/setup/api/thermometer/calibrate"]


def test_the_page_is_served_over_https_with_the_gates_own_certificate(client):
    answer = client.get("/setup/")
    assert answer.status_code == 200 and "闸机设置" in answer.text
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(client.base + "/setup/", timeout=10)  # not trusted without the gate's certificate


@pytest.mark.parametrize("path", API_GETS)
def test_without_a_session_every_read_gets_401(client, path):
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", API_POSTS)
def test_without_a_session_every_change_gets_401(client, path):
    assert client.post(path, {"set": {"venue.type": "metro"}}).status_code == 401


def test_sign_in_gives_a_secure_session_cookie_and_a_csrf_token(client):
    answer = client.login()
    assert answer.status_code == 200
    assert len(answer.json()["csrf_token"]) >= 32
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    assert client.get("/setup/api/config").status_code == 200


def test_a_wrong_password_is_401(client):
    assert client.login("not the password").status_code == 401
    assert client.get("/setup/api/config").status_code == 401


def test_five_wrong_passwords_lock_sign_in_even_for_the_right_one(client):
    assert [client.login("wrong").status_code for _ in range(5)] == [401] * 5
    locked = client.login(PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= LOCKOUT_S


def test_the_lockout_survives_a_restart_of_the_service(setup_server, tmp_path):
    base, cert, state = setup_server
    client = SetupClient(base, cert)
    for _ in range(5):
        client.login("wrong")
    from gate.setup.auth import Lockout

    assert Lockout(state.state_dir / "lockout.json").locked_for() > LOCKOUT_S - 60


def test_the_lockout_ends_after_five_minutes(tmp_path):
    from gate.setup.auth import Lockout

    now = [1000.0]
    lockout = Lockout(tmp_path / "lockout.json", clock=lambda: now[0])
    for _ in range(5):
        lockout.failed()
    assert lockout.locked_for() == LOCKOUT_S
    now[0] += LOCKOUT_S + 1
    assert lockout.locked_for() == 0


def test_four_wrong_passwords_then_the_right_one_starts_the_count_again(client):
    for _ in range(4):
        client.login("wrong")
    assert client.login().status_code == 200
    assert [client.login("wrong").status_code for _ in range(4)] == [401] * 4


def test_forty_guesses_sent_at_once_get_at_most_five_password_checks(setup_server, monkeypatch):
    """The attempt is counted before the slow hash, under one lock: concurrent guesses cannot all
    pass the count while the first ones are still being checked."""
    from concurrent.futures import ThreadPoolExecutor

    from gate.setup.api import signin
    from gate.setup.auth import MAX_FAILURES

    checks = []
    real = signin.password_matches

    def slow_check(stored: str, password: str) -> bool:
        checks.append(password)
        threading.Event().wait(0.2)  # a real gate's Argon2 takes this long: the window of the race
        return real(stored, password)

    monkeypatch.setattr(signin, "password_matches", slow_check)
    base, cert, _ = setup_server
    start = threading.Barrier(40)

    def guess(n: int) -> int:
        client = SetupClient(base, cert)
        start.wait()
        try:
            return client.login(f"guess {n}").status_code
        finally:
            client.http.close()

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    assert len(checks) <= MAX_FAILURES
    assert answers.count(401) == len(checks) and answers.count(429) == 40 - len(checks)
    assert SetupClient(base, cert).login(PASSWORD).status_code == 429  # and the lock is in force


def test_a_session_ends_after_30_minutes_idle():
    from gate.setup.auth import SESSION_IDLE_S, Sessions

    now = [0.0]
    sessions = Sessions(clock=lambda: now[0])
    session = sessions.start("127.0.0.1")
    now[0] += SESSION_IDLE_S - 1
    assert sessions.get(session.token) is session  # a request restarts the idle time
    now[0] += SESSION_IDLE_S - 1
    assert sessions.get(session.token) is session
    now[0] += SESSION_IDLE_S + 1
    assert sessions.get(session.token) is None


@pytest.mark.parametrize("path", API_POSTS)
def test_a_change_without_the_csrf_token_is_refused(client, gate_file, path):
    client.login()
    before = gate_file.read_bytes()
    assert client.post(path, {"set": {"venue.type": "metro"}}, csrf=False).status_code == 403
    wrong = client.http.post(client.base + path, json={"set": {"venue.type": "metro"}},
                             headers={"X-CSRF-Token": "x" * 43}, timeout=30)
    assert wrong.status_code == 403
    assert gate_file.read_bytes() == before


def test_the_configuration_is_shown_without_secrets(client, gate_file):
    client.login()
    answer = client.get("/setup/api/config")
    config = answer.json()
    assert config["venue"]["type"] == "residential"
    assert config["setup"]["password_set"] is True
    assert "password_hash" not in config["setup"] and "key" not in config["device"]
    assert "$argon2" not in answer.text and "device.key" not in answer.text
    assert "PRIVATE KEY" not in answer.text


def test_secrets_are_never_accepted(client, gate_file):
    client.login()
    before = gate_file.read_bytes()
    answer = client.post("/setup/api/config", {"set": {"device.key": "/tmp/other.key",
                                                       "setup.password_hash": "$argon2id$v=19$x"}})
    assert answer.status_code == 400
    assert answer.json()["errors"] == ["device.key: cannot be changed from the setup page",
                                       "setup.password_hash: cannot be changed from the setup page"]
    assert gate_file.read_bytes() == before


def test_every_problem_is_listed_at_once_in_validates_words_and_the_file_is_untouched(client, gate_file):
    client.login()
    before = gate_file.read_bytes()
    answer = client.post("/setup/api/config", {"set": {"venue.type": "mall", "temperature.fever_c": "45",
                                                       "venue.id": "north gate!", "io.nothing": 1}})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert errors[0] == "io.nothing: no such setting; use SECTION.NAME, e.g. venue.type"
    assert any(e.startswith(f"{gate_file}: [venue] type = \"mall\" is not allowed; use one of residential") for e in errors)
    assert any(e.startswith(f"{gate_file}: [temperature] fever_c = 45 is not allowed") for e in errors)
    assert len(errors) >= 3
    assert gate_file.read_bytes() == before


def test_a_change_is_written_keeping_comments_and_applied_by_the_running_kiosk(client, gate_file, kiosk, setup_server):
    client.login()
    answer = client.post("/setup/api/config", {"set": {"venue.type": "metro", "temperature.fever_c": "37.5"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["venue"]["type"] == "metro" and body["changed"] == ["temperature.fever_c", "venue.type"]
    assert body["applied"]["ok"] is True and set(body["applied"]["changed"]) == {"venue", "temperature"}
    assert body["applied"]["reopened"] == []  # a venue change needs no camera, no new thermometer
    text = gate_file.read_text()
    assert 'type = "metro"' in text and "fever_c = 37.5" in text
    assert "# The test gate: a residential compound's north gate." in text
    assert "# made at provisioning; never shown by the setup page" in text
    assert kiosk.kiosk.pipeline.config.venue.type == "metro"
    # the change is logged on the gate: who, when, from where, what
    _, _, state = setup_server
    entries = [json.loads(line) for line in (state.state_dir / "changes.jsonl").read_text().splitlines()]
    assert {(e["key"], e["from"], e["to"]) for e in entries} == {("venue.type", "residential", "metro"),
                                                                   ("temperature.fever_c", None, 37.5)}
    assert all(e["who"] == "setup page" and e["address"] == "127.0.0.1" and e["at"] for e in entries)


def test_without_a_kiosk_a_change_is_saved_and_the_page_says_the_gate_is_not_running(client, gate_file):
    client.login()
    answer = client.post("/setup/api/config", {"set": {"venue.type": "metro"}})
    assert answer.status_code == 200
    assert answer.json()["applied"]["kiosk_running"] is False
    assert "no kiosk is running" in answer.json()["applied"]["message"]
    assert client.get("/setup/api/kiosk").json() == {"running": False, "message": "no kiosk is running (gate-kiosk.service is stopped)"}
    assert client.post("/setup/api/test/relay").status_code == 503
    assert client.get("/setup/camera.jpg").status_code == 503
    assert client.get("/setup/api/thermometer").status_code == 503


def test_the_outputs_are_pulsed_by_the_kiosk(client, kiosk):
    client.login()
    body = kiosk.kiosk.pipeline.body
    answer = client.post("/setup/api/test/relay")
    assert answer.status_code == 200 and answer.json()["done"] == "relay pulsed"
    assert body.relay_open
    body.shut()
    assert client.post("/setup/api/test/buzzer").json()["done"] == "buzzer sounded"
    assert body.buzzer.pattern == "short"
    assert client.post("/setup/api/test/lights").json()["done"].startswith("lights cycling")


def test_the_outputs_are_refused_while_a_persons_scan_is_being_decided(client, kiosk, pki):
    client.login()
    with kiosk.kiosk.deciding:  # the kiosk is inside a scan
        assert client.post("/setup/api/test/relay").status_code == 409
        assert not kiosk.kiosk.pipeline.body.relay_open
    kiosk.show(code_frame(pki.code("green")))  # a person is let through; the decision is on show
    assert [o.decision.decision for o in kiosk.outcomes] == ["allow"]
    answer = client.post("/setup/api/test/buzzer")
    assert answer.status_code == 409 and "being decided" in answer.json()["error"]


def test_the_thermometer_reads_live_and_calibrates_against_a_reference(client, kiosk, gate_file):
    client.login()
    reading = client.get("/setup/api/thermometer").json()
    assert reading["object_c"] == pytest.approx(36.2, abs=0.02) and reading["offset_c"] == 0.0
    answer = client.post("/setup/api/thermometer/calibrate", {"reference_c": 36.8})
    assert answer.status_code == 200, answer.text
    assert answer.json()["offset_c"] == pytest.approx(0.6, abs=0.02)
    assert load_config(gate_file).temperature.offset_c == pytest.approx(0.6, abs=0.02)
    after = client.get("/setup/api/thermometer").json()
    assert after["temperature_c"] == pytest.approx(36.8, abs=0.02)
    # calibrating again against the same reference keeps the offset (computed from the raw reading)
    again = client.post("/setup/api/thermometer/calibrate", {"reference_c": 36.8}).json()
    assert again["offset_c"] == pytest.approx(0.6, abs=0.02)


def test_a_calibration_beyond_the_allowed_offset_is_refused_in_validates_words(client, kiosk, gate_file):
    client.login()
    before = gate_file.read_bytes()
    kiosk.bus.object_c = 30.5
    answer = client.post("/setup/api/thermometer/calibrate", {"reference_c": 36.8})
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error.startswith(f"{gate_file}: [temperature] offset_c = 6.3")  # 36.8 - 30.5 (as the bus rounds it)
    assert error.endswith(" is not allowed; use a number from -5.0 to 5.0")
    assert gate_file.read_bytes() == before


def test_the_live_view_outlines_the_code_in_view_and_counts_decodes(client, kiosk, pki):
    import cv2
    import numpy as np

    client.login()
    text = pki.code("green")
    kiosk.show(code_frame(text))
    answer = client.get("/setup/camera.jpg")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
    green = (image[:, :, 1] > 150) & (image[:, :, 0] < 100) & (image[:, :, 2] < 100)
    assert green.sum() > 200  # the outline
    kiosk.show(blank_frame())
    client.get("/setup/camera.jpg")
    stats = client.get("/setup/api/camera").json()
    assert stats["decode_rate"] == 0.5
    assert stats["codes"] == []


def test_the_mjpeg_view_streams_outlined_frames(client, kiosk, pki):
    client.login()
    kiosk.show(code_frame(pki.code("green")))
    with client.get("/setup/camera.mjpg", stream=True) as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        chunk = next(answer.iter_content(4096))
        assert chunk.startswith(b"--setupframe\r\nContent-Type: image/jpeg")
    stats = client.get("/setup/api/camera").json()
    assert stats["codes"][0]["valid"] and len(stats["codes"][0]["corners"]) == 4
    assert stats["codes"][0]["format"] == "JKM1"


def test_the_doctor_report_asks_the_kiosk_for_camera_and_thermometer(client, kiosk):
    client.login()
    kiosk.show(blank_frame())
    report = client.get("/setup/api/doctor").json()
    names = {c["name"]: c for c in report["checks"]}
    assert report["kiosk_running"] is True
    assert names["camera"]["level"] == "OK" and "receives frames" in names["camera"]["message"]
    assert names["thermometer"]["level"] == "OK"
    assert names["setup"]["level"] == "OK" and "SHA-256" in names["setup"]["message"]


def test_sign_out_ends_the_session(client):
    client.login()
    assert client.post("/setup/api/logout").status_code == 200
    assert client.get("/setup/api/config").status_code == 401


def test_no_answer_ever_carries_the_password_hash_or_a_private_key(client, kiosk, gate_file):
    client.login()
    stored = load_config(gate_file).setup.password_hash
    device_key = (gate_file.parent / "keys" / "device.key").read_text()
    for path in ["/setup/api/config", "/setup/api/doctor", "/setup/api/thermometer", "/setup/api/kiosk",
                 "/setup/api/camera", "/setup/api/session", "/setup/"]:
        text = client.get(path).text
        assert stored not in text and "$argon2" not in text and "PRIVATE KEY" not in text, path
        assert device_key.splitlines()[1] not in text, path


def test_the_page_is_served_with_a_strict_content_security_policy(client):
    answer = client.get("/setup/")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/setup/static/app.py").status_code == 404  # only the page's own files
