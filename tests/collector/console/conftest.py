"""The console's fixtures: a real collector (device API on loopback, SQLite file), people in each
role, and Django's test client signed in as one of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from tests.collectorkit import Collector

PASSWORD = "a long enough pass phrase"


@pytest.fixture(autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """Tests make many users: hash their passwords quickly (the slow salted hash of the settings
    is the collector's own business and tested there)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def console(collector_factory: Callable[..., Collector]) -> Iterator[Collector]:
    """A collector whose database the test's ORM code and test client use."""
    collector = collector_factory()
    with collector.app.activate():
        yield collector


@pytest.fixture
def person() -> Callable[..., Any]:
    """Make a user in a role (None: in no role), with `PASSWORD`, in the active collector's
    database (the test activates one: `console`, or a collector of its own)."""
    from gate.collector import users

    made: dict[str, Any] = {}

    def make(role: str | None, name: str | None = None) -> Any:
        name = name or f"{role or 'nobody'}-{len(made)}"
        if role is None:
            from django.contrib.auth.models import User
            user = User.objects.create_user(username=name, password=PASSWORD)
        else:
            user = users.add_user(name, role, PASSWORD)
        made[name] = user
        return user

    return make


@pytest.fixture
def client_as(person: Callable[..., Any]) -> Callable[..., Client]:
    """A test client signed in as a new user of `role` (CSRF enforced when asked)."""

    def make(role: str | None, enforce_csrf: bool = False, **extra: Any) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf, **extra)
        client.force_login(person(role))
        return client

    return make


def ago(minutes: float = 0.0) -> str:
    """A record time `minutes` before now, as a gate writes it."""
    from datetime import datetime, timedelta, timezone

    from gate.collector.tracing import iso

    return iso(datetime.now(timezone.utc) - timedelta(minutes=minutes))


def scan(device_id: str = "gate-test-0001", *, minutes_ago: float = 5.0, sub: str = "00aa",
         issuer: str = "CN-JX", status: str = "green", decision: str = "allow",
         reasons: list[str] | None = None, venue: str = "360102-012-north-gate",
         temperature_c: float | None = 36.6, itinerary_risk: bool = False) -> dict[str, Any]:
    """A RECORD of upload.md for one scan of subject `sub`."""
    from tests.collectorkit import new_record

    code = {"valid": True, "reason": "ok", "issuer": issuer, "sub": sub, "cti": "a1b2c3d4e5f60708",
            "status": status, "itinerary_risk": itinerary_risk}
    return new_record(device_id, venue_id=venue, scanned_at=ago(minutes_ago), code=code,
                      decision=decision, temperature_c=temperature_c,
                      decision_reasons=reasons or ["code_valid", status, "temperature_normal"])


def alert(collector: Collector, record: dict[str, Any]) -> None:
    """Send `record` through POST /v1/alerts, as a gate does for a hold, refer or red code."""
    answer = collector.post_json("/v1/alerts", {"batch_id": "b-" + record["id"], "records": [record]})
    assert answer.status_code == 200 and answer.json()["accepted"] == [record["id"]], answer.text


def upload(collector: Collector, records: list[dict[str, Any]]) -> None:
    """Send `records` as one ordinary batch through POST /v1/scans."""
    answer = collector.upload(records)
    assert answer.status_code == 200 and len(answer.json()["accepted"]) == len(records), answer.text


def token_of(answer: Any) -> str:
    """The CSRF token a console page put in its forms."""
    import re

    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.content.decode())
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
