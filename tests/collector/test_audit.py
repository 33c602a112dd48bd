"""The audit trail: who, when, what, from where, how many; append-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import RequestFactory

from gate.collector.audit import audit, audit_command
from gate.collector.models import AuditEntry


def test_an_entry_keeps_who_what_where_and_how_many(alias):
    request = RequestFactory().get("/console/records", REMOTE_ADDR="10.1.2.3")
    request.user = User.objects.create_user("li.wei")
    entry = audit(request, "records.search", {"venue_id": "v1"}, count=12)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.username, stored.user, stored.action, stored.what, stored.address,
            stored.count) == ("li.wei", request.user, "records.search", {"venue_id": "v1"},
                              "10.1.2.3", 12)
    assert stored.at is not None


def test_an_anonymous_request_and_a_command_are_named(alias):
    request = RequestFactory().post("/console/login")
    request.user = AnonymousUser()
    assert audit(request, "login.failed", {"user": "x"}).username == "anonymous"
    assert audit_command("device.add", {"device_id": "g1"}).username.startswith("cli:")


def test_entries_cannot_be_changed_or_deleted(alias):
    entry = audit_command("trace", {"sub": "ab"}, count=3)
    entry.count = 0
    with pytest.raises(PermissionError, match="append-only"):
        entry.save()
    with pytest.raises(PermissionError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).count == 3
