"""The audit log page (admin): every entry, newest first, filterable; nothing changes it."""

from __future__ import annotations

from gate.collector.audit import audit_command
from gate.collector.models import AuditEntry


def test_the_log_lists_entries_newest_first_with_who_where_what_and_count(console, client_as):
    audit_command("device.add", {"device_id": "g1"})
    client = client_as("admin")
    client.get("/console/records?sub=00aa", REMOTE_ADDR="10.7.7.7")
    page = client.get("/console/audit").content.decode()
    assert page.index('data-action="records.search"') < page.index('data-action="device.add"')
    assert "10.7.7.7" in page and "cli:" in page


def test_the_log_filters_by_action(console, client_as):
    audit_command("device.add", {"device_id": "g1"})
    audit_command("user.add", {"username": "u"})
    page = client_as("admin").get("/console/audit?action=user.add").content.decode()
    assert 'data-action="user.add"' in page and 'data-action="device.add"' not in page


def test_nothing_in_the_console_changes_or_deletes_an_entry(console, client_as):
    audit_command("device.add", {"device_id": "g1"})
    client = client_as("admin")
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/console/audit").status_code == 405
    assert AuditEntry.objects.count() == 1


def test_what_is_shown_as_json_and_never_as_markup(console, client_as):
    audit_command("user.add", {"username": "<b>李</b>"})
    page = client_as("admin").get("/console/audit").content.decode()
    assert '{&quot;username&quot;: &quot;&lt;b&gt;李&lt;/b&gt;&quot;}' in page
