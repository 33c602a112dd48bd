"""The request's deadline: when it passes, the socket the request runs on is shut, whatever it waits for."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from gate.sync.deadline import Deadline


def test_when_the_deadline_passes_the_attached_socket_is_shut():
    ours, peer = socket.socketpair()
    deadline = Deadline(60)
    deadline.attach(SimpleNamespace(sock=ours))
    deadline._expire()  # what the timer does when the time is up
    assert deadline.expired
    assert ours.recv(1) == b""  # a read blocked on it ends at once
    ours.close()
    peer.close()


def test_a_connection_attached_after_the_deadline_passed_is_shut_at_once():
    ours, peer = socket.socketpair()
    deadline = Deadline(60)
    deadline._expire()
    deadline.attach(SimpleNamespace(sock=ours))
    assert ours.recv(1) == b""
    ours.close()
    peer.close()


def test_a_connection_not_yet_connected_is_left_to_its_connect_timeout():
    deadline = Deadline(60)
    deadline.attach(SimpleNamespace(sock=None))
    deadline._expire()
    assert deadline.expired
