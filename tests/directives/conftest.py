"""A PKI whose trust list delegates one directive key, and helpers to sign directives with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.codes.trust import parse_trust_list
from gate.directives.keys import directive_entry
from tests.pki import NOW, PKI


@pytest.fixture(scope="session")
def directive_key() -> keylib.PrivateKey:
    return keylib.generate("EdDSA")


@pytest.fixture
def dpki(pki: PKI, directive_key: keylib.PrivateKey) -> PKI:
    """`pki` whose trust list (version 1) names `directive_key` as a directive key."""
    pki.directive_entries.append(directive_entry(directive_key.public_key(), NOW - 10**6, NOW + 10**6))
    pki.write_trust_list(1)
    return pki


@pytest.fixture
def trust_list(dpki: PKI):
    return parse_trust_list(dpki.trust_list(1))


def bulletin_bytes(version: int = 1, effective_at: int = NOW - 60, settings: Any = None, note: str = "test",
                   **extra: Any) -> bytes:
    doc = {"version": version, "issued_at": NOW - 120, "effective_at": effective_at, "note": note,
           "settings": settings if settings is not None else [
               {"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}],
           **extra}
    return json.dumps(doc).encode()


def sign(key: keylib.PrivateKey, data: bytes) -> str:
    return issuelib.sign_document(key, data)
