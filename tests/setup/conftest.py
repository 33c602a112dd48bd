"""Fixtures of the setup page's tests: a gate folder, a running kiosk, the HTTPS setup server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.control import RUNTIME_DIR_ENV, KioskClient
from gate.setup.app import SetupState, create_app
from gate.setup.server import SetupServer
from gate.tls import ensure_certificate
from tests.setup.kit import PASSWORD, RunningGate, SetupClient, write_gate


@pytest.fixture(scope="session")
def password_hash() -> str:
    """An Argon2id hash with light parameters (kept in the hash itself) so sign-ins are quick here;
    `gate setup passwd` uses argon2-cffi's defaults (test_auth checks those)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    monkeypatch.setenv(RUNTIME_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def gate_file(tmp_path: Path, pki, password_hash: str) -> Path:
    return write_gate(tmp_path / "etc", pki.trust_dir, password_hash)


@pytest.fixture
def kiosk(gate_file: Path, runtime: Path) -> Iterator[RunningGate]:
    gate = RunningGate.start(gate_file)
    yield gate
    gate.close()


@pytest.fixture
def setup_server(gate_file: Path, runtime: Path, tmp_path: Path) -> Iterator[tuple[str, Path, SetupState]]:
    cert, key = ensure_certificate(gate_file.parent / "keys", hostname="localhost")
    state = SetupState(config_path=gate_file, state_dir=tmp_path / "setup-state", kiosk=KioskClient(runtime))
    server = SetupServer(create_app(state), "127.0.0.1", 0, cert, key, on_stop=state.stop).start()
    yield f"https://127.0.0.1:{server.port}", cert, state
    server.stop()


@pytest.fixture
def client(setup_server) -> Iterator[SetupClient]:
    base, cert, _ = setup_server
    client = SetupClient(base, cert)
    yield client
    client.http.close()
