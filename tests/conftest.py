"""Fixtures shared across the test suite: the shared vectors, and a small PKI made per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from tests.pki import PKI, VECTORS

# The collector's fixtures (a real collector on loopback, a temporary PostgreSQL, device keys,
# signed lists) serve the collector's tests and the gate's sync tests alike; real Chromium driven
# by Playwright serves every page's browser test.
pytest_plugins = ["tests.collectorkit", "tests.browser"]


@pytest.fixture(scope="session")
def _pki_keys() -> tuple[keylib.PrivateKey, keylib.PrivateKey, keylib.PrivateKey]:
    return keylib.generate("EdDSA"), keylib.generate("EdDSA"), keylib.generate("ES256")


@pytest.fixture
def pki(tmp_path: Path, _pki_keys: tuple) -> PKI:
    """A fresh trust folder (anchor + trust list v1 + empty status list v1) in tmp_path."""
    anchor, jx, sx = _pki_keys
    p = PKI(tmp_path / "pki", anchor, issuelib.Issuer("CN-JX", jx), issuelib.Issuer("CN-ZJ-SX", sx))
    (p.trust_dir / "anchors").mkdir(parents=True)
    (p.trust_dir / "anchors" / "anchor.pem").write_bytes(keylib.public_pem(anchor.public_key()))
    for name, key in (("anchor", anchor), ("jx", jx), ("sx", sx)):
        keylib.write_private_key(p.root / f"{name}.key", key)
        (p.root / f"{name}.pem").write_bytes(keylib.public_pem(key.public_key()))
    p.write_trust_list(1)
    p.write_status_list(1, [])
    return p


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """../shared/vectors/codes.json."""
    return json.loads((VECTORS / "codes.json").read_text())


@pytest.fixture(scope="session")
def vector_trust_dir() -> Path:
    return VECTORS / "trust"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to servers on 127.0.0.1 only; never through a proxy from the environment."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
