"""The tracing page: the same result as `gate.collector.tracing.trace` (the CLI's), a timeline and
contacts grouped by venue, CSV export; both audited."""

from __future__ import annotations

import csv
import io
import re

from gate.collector import tracing
from gate.collector.console.views.tracing import by_venue
from gate.collector.models import AuditEntry
from tests.collector.console.conftest import scan, upload


def seed(console):
    visit_east = scan(sub="00aa", venue="v-east", minutes_ago=100)
    visit_west = scan(sub="00aa", venue="v-west", minutes_ago=50)
    near_east = scan(sub="00bb", venue="v-east", minutes_ago=90)        # 10 min from a visit
    near_west = scan(sub="00cc", venue="v-west", minutes_ago=45)        # 5 min
    far_east = scan(sub="00dd", venue="v-east", minutes_ago=20)         # 80 min: no contact
    elsewhere = scan(sub="00ee", venue="v-north", minutes_ago=50)       # same minute, other venue
    upload(console, [visit_east, visit_west, near_east, near_west, far_east, elsewhere])
    return visit_east, visit_west, near_east, near_west


def test_the_page_shows_the_timeline_and_contacts_grouped_by_venue(console, client_as):
    visit_east, visit_west, near_east, near_west = seed(console)
    page = client_as("tracer").get("/console/trace?sub=00aa&issuer=CN-JX").content.decode()
    timeline = page[page.index('id="timeline"'):page.index("</ol>")]
    assert re.findall(r'data-record="([^"]+)"', timeline) == [visit_east["id"], visit_west["id"]]
    venues = re.findall(r'<section class="venue" data-venue="([^"]+)"', page)
    assert venues == ["v-east", "v-west"]
    east = page[page.index('data-venue="v-east"'):page.index('data-venue="v-west"')]
    assert near_east["id"] in east and near_west["id"] not in east
    assert "00dd" not in page and "00ee" not in page


def test_the_page_and_the_cli_query_agree(console, client_as):
    seed(console)
    result = tracing.trace("00aa", issuer="CN-JX")
    groups = by_venue(result)
    assert [g["venue_id"] for g in groups] == ["v-east", "v-west"]
    assert sum(len(g["contacts"]) for g in groups) == len(result["contacts"]) == 2


def test_a_trace_and_its_export_are_audited_with_their_counts(console, client_as):
    visit_east, visit_west, near_east, near_west = seed(console)
    client = client_as("tracer")
    client.get("/console/trace?sub=00aa&window_min=30")
    entry = AuditEntry.objects.get(action="trace")
    assert entry.what["sub"] == "00aa" and entry.what["window_min"] == 30 and entry.count == 4
    answer = client.get("/console/trace.csv?sub=00aa&window_min=30")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert [(r["kind"], r["record_id"]) for r in rows] == [
        ("visit", visit_east["id"]), ("visit", visit_west["id"]),
        ("contact", near_east["id"]), ("contact", near_west["id"])]
    assert rows[2]["visit_record_id"] == visit_east["id"] and float(rows[2]["minutes_apart"]) == 10
    assert AuditEntry.objects.get(action="trace.export").count == 4


def test_a_narrow_window_leaves_out_the_farther_contact(console, client_as):
    seed(console)
    client_as("tracer").get("/console/trace?sub=00aa&window_min=6")
    assert AuditEntry.objects.get(action="trace").count == 3  # two visits, the 5-minute contact


def test_no_subject_is_a_clear_error_and_nothing_runs(console, client_as):
    answer = client_as("tracer").get("/console/trace?sub=+")
    assert answer.status_code == 400 and "这个字段是必填项" in answer.content.decode()
    assert client_as("tracer").get("/console/trace.csv?sub=").status_code == 400
    assert not AuditEntry.objects.exists()


def test_the_empty_form_runs_no_trace(console, client_as):
    assert client_as("tracer").get("/console/trace").status_code == 200
    assert not AuditEntry.objects.exists()


def test_the_timeline_shows_each_visits_decision_in_words(console, client_as):
    seed(console)
    page = client_as("tracer", HTTP_ACCEPT_LANGUAGE="en").get("/console/trace?sub=00aa").content.decode()
    timeline = page[page.index('id="timeline"'):page.index("</ol>")]
    assert timeline.count('data-decision="allow">GO AHEAD<') == 2
