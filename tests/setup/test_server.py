"""The setup page's HTTPS server (gate/setup/server.py) with real sockets on loopback: TLS
handshakes cannot hold up the accept loop, and a dropped connection is one quiet log line."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

import pytest

from gate.setup.server import TIMEOUT_S
from tests.setup.kit import SetupClient


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("https://").rsplit(":", 1)
    return host, int(port)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        threading.Event().wait(0.05)


@pytest.mark.parametrize("idle", [1, 8])
def test_idle_connections_that_never_say_hello_do_not_hold_up_the_technician(setup_server, idle):
    base, cert, _ = setup_server
    silent = [socket.create_connection(address(base), timeout=5) for _ in range(idle)]
    try:
        client = SetupClient(base, cert)
        started = time.monotonic()
        answer = client.get("/setup/")
        took = time.monotonic() - started
        assert answer.status_code == 200 and "闸机设置" in answer.text
        assert client.login().status_code == 200  # and signing in works meanwhile
        assert took < TIMEOUT_S / 4, f"the page took {took:.1f} s behind {idle} idle connection(s)"
    finally:
        for sock in silent:
            sock.close()


def test_a_connection_that_starts_a_handshake_and_stalls_does_not_block_others(setup_server):
    base, cert, _ = setup_server
    stalled = socket.create_connection(address(base), timeout=5)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the first bytes of a ClientHello
    try:
        client = SetupClient(base, cert)
        started = time.monotonic()
        assert client.get("/setup/").status_code == 200
        assert time.monotonic() - started < TIMEOUT_S / 4
    finally:
        stalled.close()


def test_a_browser_dropping_its_connection_is_one_quiet_line_without_a_traceback(setup_server, caplog, capfd):
    base, cert, _ = setup_server
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with caplog.at_level(logging.DEBUG, logger="gate.setup.server"):
        raw = socket.create_connection(address(base), timeout=5)
        tls = context.wrap_socket(raw, server_hostname="localhost")  # the handshake is done
        tls.sendall(b"GET /setup/ HTTP/1.1\r\nHost: x\r\n")  # half a request, then gone without close_notify
        tls.shutdown(socket.SHUT_RDWR)  # no close_notify: the TCP connection just ends
        tls.close()
        wait_for(lambda: [r for r in caplog.records if r.name == "gate.setup.server"])
        assert SetupClient(base, cert).get("/setup/").status_code == 200  # the server is fine
    lines = [r for r in caplog.records if r.name == "gate.setup.server"]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and lines[0].exc_info is None
    assert "ended early" in lines[0].getMessage()
    assert "Traceback" not in capfd.readouterr().err


def test_plain_http_on_the_tls_port_is_told_to_use_https_quietly(setup_server, caplog, capfd):
    base, _, _ = setup_server
    with caplog.at_level(logging.DEBUG, logger="gate.setup.server"):
        plain = socket.create_connection(address(base), timeout=5)
        plain.sendall(b"GET /setup/ HTTP/1.1\r\nHost: x\r\n\r\n")
        plain.settimeout(5)
        answer = plain.recv(1024)
        plain.close()
        assert answer.startswith(b"HTTP/1.1 400 Bad Request") and b"use https://" in answer
        wait_for(lambda: [r for r in caplog.records if r.name == "gate.setup.server"])
    assert all(r.exc_info is None and r.levelno <= logging.INFO for r in caplog.records if r.name == "gate.setup.server")
    assert "Traceback" not in capfd.readouterr().err
