"""The screen's server over real HTTP on loopback: page, pushed updates, frames, metrics, stopping."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

from gate.faults import FAULTS

from gate.display import DisplayServer
from gate.display.app import STREAM_BACKLOG, _Stream
from gate.metrics import GateMetrics
from gate import vocabulary
from gate.vocabulary import decision_words

DENY = {"kind": "decision", "decision": "deny", "message_zh": "禁止通行，请劝返",
        "message_en": "Not admitted: turn the person away", "temperature_c": 36.5,
        "name": "张*明", "reasons": ["code_invalid", "bad_signature"], "at": "2022-04-01T08:30:00Z"}


def jpeg(shade: int = 128) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((24, 32, 3), shade, np.uint8))
    assert ok
    return data.tobytes()


@pytest.fixture
def screen() -> Iterator[DisplayServer]:
    server = DisplayServer(port=0, heartbeat_s=0.3, max_streams=2).start()
    yield server
    server.stop()


def connect(server: DisplayServer) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)


def get(server: DisplayServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = connect(server)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class EventStream:
    """A browser's /events connection, read one message at a time."""

    def __init__(self, server: DisplayServer) -> None:
        self.conn = connect(server)
        self.conn.request("GET", "/events")
        self.resp = self.conn.getresponse()

    def next(self) -> tuple[str, str]:
        """(event name, data) of the next message; ("comment", text) for a heartbeat."""
        event, data, comment = "message", "", None
        while True:
            line = self.resp.readline().decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if line == "":
                if comment is not None and not data:
                    return "comment", comment
                if data or event != "message":
                    return event, data
                continue
            field, _, text = line.partition(":")
            text = text[1:] if text.startswith(" ") else text
            if field == "":
                comment = text
            elif field == "event":
                event = text
            elif field == "data":
                data = text

    def next_of(self, name: str) -> str:
        while True:
            event, data = self.next()
            if event == name:
                return data

    def close(self) -> None:
        self.conn.close()


def test_the_page_and_its_files_are_served(screen):
    status, headers, body = get(screen, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/static/display.css" in body and b"/static/display.js" in body
    for name, kind in (("display.css", "text/css"), ("display.js", "text/javascript")):
        status, headers, _ = get(screen, f"/static/{name}")
        assert status == 200 and headers["content-type"].startswith(kind)


def test_nothing_outside_the_static_folder_can_be_asked_for(screen):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/app.py", "/nope"):
        assert get(screen, path)[0] == 404


def test_only_get_and_head(screen):
    assert get(screen, "/", method="POST")[0] == 405
    assert get(screen, "/", method="HEAD")[0] == 200


def test_the_page_holds_no_decision_until_one_is_pushed(screen):
    screen.publish(DENY)
    assert "禁止通行，请劝返".encode() not in get(screen, "/")[2]


def test_a_new_browser_gets_the_latest_state_at_once(screen):
    screen.publish(DENY)
    stream = EventStream(screen)
    try:
        assert stream.resp.getheader("Content-Type").startswith("text/event-stream")
        state = json.loads(stream.next_of("state"))
        assert state["decision"] == "deny" and state["message_zh"] == "禁止通行，请劝返"
        assert state["faults"] == []
    finally:
        stream.close()


def test_states_are_pushed_to_an_open_stream(screen):
    stream = EventStream(screen)
    try:
        assert json.loads(stream.next_of("state"))["kind"] == "idle"
        screen.publish(DENY)
        assert json.loads(stream.next_of("state"))["decision"] == "deny"
        screen.publish({"kind": "idle"})
        assert json.loads(stream.next_of("state"))["kind"] == "idle"
    finally:
        stream.close()


def test_a_quiet_stream_gets_heartbeat_comments(screen):
    stream = EventStream(screen)
    try:
        stream.next_of("state")
        assert stream.next() == ("comment", "heartbeat")
    finally:
        stream.close()


def test_a_fault_sets_the_banner_and_leaves_the_panel(screen):
    screen.publish(DENY)
    screen.publish({"kind": "fault", "faults": ["camera_lost"]})
    state = screen.app.snapshot()
    assert state["decision"] == "deny" and state["faults"] == ["camera_lost"]
    assert state["fault_lines"] == [{"code": "camera_lost", "en": "Camera lost: reconnecting",
                                     "zh": "摄像头断开，正在重连", "shuts_gate": True}]
    assert state["gate_shut"] is True
    screen.publish({"kind": "fault", "faults": []})
    assert screen.app.snapshot()["faults"] == [] and screen.app.snapshot()["gate_shut"] is False
    screen.publish({"kind": "idle", "faults": ["thermometer_failing"]})
    assert screen.app.snapshot() == {"kind": "idle", "faults": ["thermometer_failing"],
                                     "fault_lines": [FAULTS["thermometer_failing"].to_json()],
                                     "gate_shut": False, "seq": state["seq"] + 2}


def test_state_json_lists_every_fault_with_its_lines(screen):
    screen.publish({"kind": "fault", "faults": ["trust_list_stale", "clock_untrusted"]})
    status, _, body = get(screen, "/state.json")
    state = json.loads(body)
    assert status == 200 and state["faults"] == ["clock_untrusted", "trust_list_stale"]
    assert [line["zh"] for line in state["fault_lines"]] == ["时钟不可信", "信任列表已过期"]


def test_a_fault_that_is_not_in_the_vocabulary_is_refused(screen):
    for bad in (["camera lost: reconnecting"], "camera_lost", [3]):
        with pytest.raises(ValueError):
            screen.publish({"kind": "fault", "faults": bad})
    assert screen.app.snapshot()["faults"] == []


def test_a_state_without_a_known_kind_is_refused(screen):
    for bad in ({"decision": "allow"}, {"kind": "open"}, ["idle"]):
        with pytest.raises(ValueError, match="kind is one of decision, idle, fault"):
            screen.publish(bad)  # type: ignore[arg-type]


def test_a_decision_goes_out_with_its_headline_and_colour_class_from_the_vocabulary(screen):
    screen.publish(DENY)
    state = screen.app.snapshot()
    words = decision_words("deny")
    assert (state["headline_zh"], state["headline_en"], state["panel_class"]) == (
        words.headline_zh, words.headline_en, "light-red")


def test_a_decision_the_vocabulary_does_not_know_is_refused(screen):
    with pytest.raises(ValueError, match="unknown decision 'open'"):
        screen.publish({**DENY, "decision": "open"})
    assert "decision" not in screen.app.snapshot()


def test_the_vocabulary_is_served_as_json(screen):
    status, headers, body = get(screen, "/vocabulary.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == json.loads(json.dumps(vocabulary.to_json()))


def test_the_newest_frame_is_served_and_announced(screen):
    assert get(screen, "/frame.jpg")[0] == 404
    stream = EventStream(screen)
    try:
        stream.next_of("state")
        screen.publish_frame(jpeg(10))
        screen.publish_frame(jpeg(200))
        status, headers, body = get(screen, "/frame.jpg")
        assert status == 200 and headers["content-type"] == "image/jpeg"
        assert body == jpeg(200) and headers["cache-control"] == "no-store"
        assert json.loads(stream.next_of("frame"))["n"] in (1, 2)
    finally:
        stream.close()


def test_a_frame_that_is_not_a_jpeg_is_refused(screen):
    with pytest.raises(ValueError, match="one JPEG image"):
        screen.publish_frame(b"\x89PNG\r\n")


def test_the_live_view_as_an_mjpeg_stream(screen):
    screen.publish_frame(jpeg(50))
    conn = connect(screen)
    try:
        conn.request("GET", "/live.mjpg")
        resp = conn.getresponse()
        assert resp.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=gateframe"
        assert resp.readline() == b"--gateframe\r\n"
        assert resp.readline() == b"Content-Type: image/jpeg\r\n"
        length = int(resp.readline().split(b":")[1])
        resp.readline()
        assert resp.read(length) == jpeg(50)
    finally:
        conn.close()


def test_a_slow_browser_falls_behind_by_a_bounded_backlog():
    stream = _Stream()
    for n in range(STREAM_BACKLOG * 3):
        stream.push("state", f"s{n}".encode())
    assert len(stream.pending) == STREAM_BACKLOG
    assert stream.pending[-1] == ("state", f"s{STREAM_BACKLOG * 3 - 1}".encode())
    for n in range(10):
        stream.push("frame", f"f{n}".encode())
    assert [kind for kind, _ in stream.pending].count("frame") == 1  # frames coalesce
    assert stream.pending[-1] == ("frame", b"f9")


def test_streams_beyond_the_limit_get_503(screen):
    streams = [EventStream(screen), EventStream(screen)]
    try:
        for s in streams:
            s.next_of("state")
        status, headers, _ = get(screen, "/events")
        assert status == 503 and headers["retry-after"] == "2"
        assert get(screen, "/healthz")[0] == 200  # the rest of the server still answers
    finally:
        for s in streams:
            s.close()


def test_metrics_are_served_from_the_registry_given(screen):
    assert get(screen, "/metrics")[0] == 404
    metrics = GateMetrics()
    metrics.scan("allow", 0.01)
    screen.set_metrics_registry(metrics)
    status, headers, body = get(screen, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=")
    assert b'gate_scans_total{decision="allow"} 1.0' in body


def test_health(screen):
    screen.publish({"kind": "fault", "faults": ["camera_lost"]})
    status, _, body = get(screen, "/healthz")
    health = json.loads(body)
    assert status == 200 and health["ok"] is True
    assert health["faults"] == ["camera_lost"] and health["frame_age_s"] is None


def test_stop_ends_open_streams_and_a_restart_keeps_the_state():
    server = DisplayServer(port=0, heartbeat_s=30).start()
    server.publish(DENY)
    stream = EventStream(server)
    stream.next_of("state")
    server.stop()
    with pytest.raises((EOFError, ConnectionError, http.client.IncompleteRead, socket.timeout)):
        while True:
            stream.next()
    stream.close()
    assert not server.running
    server.stop()  # twice is fine
    server.start()
    try:
        assert json.loads(get(server, "/state.json")[2])["decision"] == "deny"
    finally:
        server.stop()


def test_a_port_in_use_is_an_oserror():
    with DisplayServer(port=0) as first:
        with pytest.raises(OSError):
            DisplayServer(port=first.port).start()


def test_stop_lets_go_of_an_attached_browser():
    server = DisplayServer(port=0, heartbeat_s=30).start()
    stream = EventStream(server)
    stream.next_of("state")
    assert server.app.stream_count == 1
    server.stop()
    stream.close()
    assert server.app.stream_count == 0  # the stream returned rather than waiting on a heartbeat
