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


def test_contacts_are_counted_as_people_each_with_decision_and_code_status(console, client_as):
    visit = scan(sub="00aa", venue="v-east", minutes_ago=100)
    # person bb: three records near the visit; person cc: one, a yellow code asked to re-measure
    near = [scan(sub="00bb", venue="v-east", minutes_ago=m) for m in (99, 98, 97)]
    yellow = scan(sub="00cc", venue="v-east", minutes_ago=95.5, status="yellow", decision="recheck",
                  reasons=["code_valid", "yellow"])
    upload(console, [visit, *near, yellow])
    page = client_as("tracer").get("/console/trace?sub=00aa&issuer=CN-JX").content.decode()
    assert "2 名密接人员" in page and "4 条记录" in page
    people = page[page.index('id="people"'):page.index("</table>", page.index('id="people"'))]
    assert re.findall(r'<tr data-sub="([^"]+)"', people) == ["00bb", "00cc"]
    cc = people[people.index('data-sub="00cc"'):]
    assert "请复测体温" in cc and "黄码" in cc and "4 分 30 秒" in cc  # minutes and seconds
    assert "0.0" not in people[people.index('data-sub="00bb"'):people.index('data-sub="00cc"')]


def test_a_contacts_name_traces_them_over_the_same_range_with_the_chain_shown(console, client_as):
    first = scan(sub="00aa", venue="v-east", minutes_ago=100)
    second = scan(sub="00bb", venue="v-east", minutes_ago=98)
    second_elsewhere = scan(sub="00bb", venue="v-west", minutes_ago=60)
    third = scan(sub="00cc", venue="v-west", minutes_ago=58)
    upload(console, [first, second, second_elsewhere, third])
    from datetime import datetime, timedelta

    client = client_as("tracer")
    start = (datetime.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    end = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/console/trace?sub=00aa&issuer=CN-JX&start={start}&end={end}"
                      "&window_min=10").content.decode()
    link = re.search(r'<a href="\?([^"]+)" class="trace-person"', page).group(1).replace("&amp;", "&")
    assert "sub=00bb" in link and "via=CN-JX%3A00aa" in link and "window_min=10" in link
    assert f"start={start.replace(':', '%3A')}%3A00" in link and f"end={end.replace(':', '%3A')}%3A00" in link
    degree2 = client.get("/console/trace?" + link).content.decode()
    chain = degree2[degree2.index('id="chain"'):degree2.index("</nav>", degree2.index('id="chain"'))]
    assert 'data-sub="00aa"' in chain and 'data-sub="00bb"' in chain and "距第一人 1 步" in chain
    assert third["id"] in degree2 and "00cc" in degree2  # 00bb's own contact at v-west
    people = degree2[degree2.index('id="people"'):]
    aa = people[people.index('data-sub="00aa"'):]
    assert "已在溯源链中" in aa[:aa.index("</tr>")]
    link3 = re.findall(r'<a href="\?([^"]+)" class="trace-person"', degree2)
    third_link = [x for x in link3 if "sub=00cc" in x][0].replace("&amp;", "&")
    assert "via=CN-JX%3A00aa&via=CN-JX%3A00bb" in third_link
    entries = list(AuditEntry.objects.filter(action="trace").order_by("id"))
    assert entries[1].what["via"] == ["CN-JX:00aa"] and entries[1].what["sub"] == "00bb"


def test_the_trace_csv_is_in_local_time_with_decision_and_code_status(console, client_as):
    visit_east, visit_west, near_east, near_west = seed(console)
    answer = client_as("tracer").get("/console/trace.csv?sub=00aa")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert all(r["scanned_at"].endswith("+08:00") for r in rows)
    contact = rows[2]
    assert contact["decision"] == "allow" and contact["code_status"] == "green"
    assert float(contact["seconds_apart"]) == 600


def test_apart_is_minutes_and_seconds_never_a_fraction_of_a_minute():
    from django.utils import translation

    from gate.collector.console.words import apart_text

    with translation.override("en"):
        assert [apart_text(s) for s in (2.64, 59.6, 60, 270, 3600)] == \
            ["3 s", "1 min", "1 min", "4 min 30 s", "60 min"]
    with translation.override("zh-hans"):
        assert apart_text(270) == "4 分 30 秒"
