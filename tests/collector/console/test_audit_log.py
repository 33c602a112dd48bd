"""The audit log page (admin): every entry, newest first, in words and local times, filterable by
the beginning of the action, by user and by day; nothing changes it."""

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


def test_what_is_shown_as_text_and_never_as_markup(console, client_as):
    audit_command("user.add", {"username": "<b>李</b>"})
    page = client_as("admin").get("/console/audit").content.decode()
    assert "&lt;b&gt;李&lt;/b&gt;" in page and "<b>李</b>" not in page


def test_the_action_filter_matches_the_beginning_of_an_action(console, client_as):
    audit_command("bulletin.publish", {"version": 3})
    audit_command("venue_card.issue", {"venue_id": "v"})
    page = client_as("admin").get("/console/audit?action=bulletin").content.decode()
    assert 'data-action="bulletin.publish"' in page and 'data-action="venue_card.issue"' not in page


def test_the_log_filters_by_user_and_by_day(console, client_as):
    from datetime import timedelta

    from django.utils import timezone

    audit_command("device.add", {"device_id": "g1"})
    old = audit_command("device.add", {"device_id": "g0"})
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=3))
    client = client_as("admin", )
    client.get("/console/fleet")
    today = timezone.localtime().strftime("%Y-%m-%d")
    page = client.get(f"/console/audit?day_from={today}&day_to={today}").content.decode()
    assert ">g1<" in page and ">g0<" not in page
    by_user = client.get("/console/audit?user=nobody-here").content.decode()
    assert 'data-action="device.add"' not in by_user


def test_what_is_in_words_with_local_times(console, client_as):
    audit_command("bulletin.publish", {"version": 3, "effective_at": 1764000000,
                                       "settings": [{"scope": {"venue_types": ["metro"]},
                                                     "set": {"venue.strict_clock": True}}]})
    client = client_as("admin")
    chinese = client.get("/console/audit").content.decode()
    assert "发布了通告" in chinese and "2025-11-25 00:00:00" in chinese  # 16:00 UTC is 00:00 +08:00
    assert "地铁" in chinese and "1764000000" not in chinese
    client.post("/console/i18n/setlang/", {"language": "en"})
    english = client.get("/console/audit").content.decode()
    assert "published a bulletin" in english and "Metro station" in english


def test_a_bad_day_or_a_huge_page_is_answered_not_a_500(console, client_as):
    client = client_as("admin")
    bad = client.get("/console/audit?day_from=0001-01-01")
    assert bad.status_code == 400 and "2000-01-01" in bad.content.decode()
    assert client.get("/console/audit?page=99999999999999999999999").status_code == 200
