"""`gate collector` refuses device ids outside the gate's id alphabet in one escaped line (exit 2),
run as a person types it: a subprocess in a clean shell (tests/journeys/userkit.py)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.journeys.userkit import User, user  # noqa: F401  (a fixture, found by name)

BAD_IDS = ["a/b", "..", ".", "gate\nnext", "\x1b[2J\x1b[31mred", "x" * 65, "", "闸机"]


@pytest.fixture
def pem(user: User) -> str:  # noqa: F811
    key = Ed25519PrivateKey.generate().public_key()
    (user.cwd / "gate.pem").write_bytes(key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return "gate.pem"


@pytest.mark.parametrize("device_id", BAD_IDS)
def test_add_device_refuses_an_id_outside_the_alphabet_in_one_escaped_line(user, pem,  # noqa: F811
                                                                           device_id):
    db = f"sqlite:///{user.cwd / 'collector.db'}"
    done = user.gate("collector", "add-device", "--db", db, "--", device_id, pem).refused()
    assert "\x1b" not in done.stderr and "is not allowed" in done.stderr
    assert "letters, digits" in done.stderr
    assert not (user.cwd / "collector.db").exists()  # refused before the database is opened


@pytest.mark.parametrize("command", ["disable-device", "enable-device"])
def test_enable_and_disable_refuse_such_an_id_too(user, command):  # noqa: F811
    db = f"sqlite:///{user.cwd / 'collector.db'}"
    done = user.gate("collector", command, "--db", db, "--", "\x1b]0;owned\x07a/b").refused()
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr

