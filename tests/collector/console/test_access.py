"""Every console page and API: anonymous gets the login page (pages) or 401 (JSON), a role below
the page's gets 403, the page's role and above get it."""

from __future__ import annotations

import pytest
from django.test import Client

from gate.collector.models import AuditEntry

# (path, the lowest role that may open it)
PAGES = [
    ("/console/", "viewer"),
    ("/console/fleet", "viewer"),
    ("/console/alerts", "viewer"),
    ("/console/records", "tracer"),
    ("/console/records.csv", "tracer"),
    ("/console/trace", "tracer"),
    ("/console/trace.csv?sub=00aa", "tracer"),
    ("/console/devices", "admin"),
    ("/console/users", "admin"),
    ("/console/audit", "admin"),
]
ORDER = [None, "viewer", "tracer", "admin"]


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_an_anonymous_request_for_a_page_is_sent_to_the_login_page(console, path, role):
    answer = Client().get(path)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/console/login?next=")


def test_an_anonymous_request_for_json_gets_401():
    answer = Client().get("/console/api/alerts")
    assert answer.status_code == 401 and answer.json() == {"error": "login_required"}


def test_an_anonymous_request_asking_for_json_gets_401_on_a_page_too(console):
    answer = Client().get("/console/fleet", HTTP_ACCEPT="application/json")
    assert answer.status_code == 401


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_a_role_below_the_page_gets_403_and_the_role_and_above_get_the_page(console, client_as,
                                                                            path, role):
    for held in ORDER:
        answer = client_as(held).get(path)
        if held is not None and ORDER.index(held) >= ORDER.index(role):
            assert answer.status_code in (200, 302), (held, path, answer.status_code)
            if path != "/console/":
                assert answer.status_code == 200, (held, path)
        else:
            assert answer.status_code == 403, (held, path, answer.status_code)


@pytest.mark.parametrize(("path", "role"), [
    ("/console/alerts/x/acknowledge", "viewer"), ("/console/alerts/paging", "viewer"),
    ("/console/devices", "admin"), ("/console/devices/gate-test-0001/disable", "admin"),
    ("/console/devices/gate-test-0001/enable", "admin"), ("/console/users", "admin"),
    ("/console/users/1/role", "admin"), ("/console/users/1/disable", "admin"),
    ("/console/users/1/enable", "admin"),
])
def test_every_change_needs_its_role(console, client_as, path, role):
    for held in ORDER[:ORDER.index(role)]:
        client = client_as(held) if held else Client()
        answer = client.post(path, {"note": "x", "role": "viewer"})
        assert answer.status_code in ((302,) if held is None else (403,)), (held, path)
    assert not AuditEntry.objects.exists()


def test_a_disabled_user_is_signed_out_of_every_page(console, person):
    user = person("admin")
    client = Client()
    client.force_login(user)
    user.is_active = False
    user.save()
    assert client.get("/console/fleet").status_code == 302


@pytest.mark.parametrize("path", [
    "/console/alerts/x/acknowledge", "/console/alerts/paging", "/console/devices",
    "/console/devices/gate-test-0001/disable", "/console/devices/gate-test-0001/enable",
    "/console/users", "/console/users/1/role", "/console/users/1/disable", "/console/users/1/enable",
    "/console/logout", "/console/login", "/console/i18n/setlang/",
])
def test_every_form_refuses_a_post_without_its_csrf_token(console, client_as, path):
    client = client_as("admin", enforce_csrf=True)
    answer = client.post(path, {"note": "x", "role": "viewer", "device_id": "g", "language": "en",
                                "username": "u", "password": "p", "public_key": "k"})
    assert answer.status_code == 403
    assert not AuditEntry.objects.exists()
