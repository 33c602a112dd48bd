"""The console's queries on PostgreSQL (records partitioned by month): search, paging for yellow
codes and itinerary marks (a JSON lookup), acknowledgement and tracing, as on SQLite."""

from __future__ import annotations

import re

import pytest

from gate.collector.models import Alert, AuditEntry
from tests.collector.console.conftest import alert, scan, upload


@pytest.fixture
def pg_console(collector_factory, postgres_db_url):
    collector = collector_factory(postgres_db_url)
    with collector.app.activate():
        yield collector


def test_search_paging_acknowledgement_and_tracing_on_postgresql(pg_console, client_as):
    visit = scan(sub="00aa", venue="v-east", minutes_ago=100)
    contact = scan(sub="00bb", venue="v-east", minutes_ago=95)
    yellow = scan(sub="00cc", status="yellow", decision="recheck", reasons=["code_valid", "yellow"])
    marked = scan(sub="00dd", itinerary_risk=True, minutes_ago=3)
    old = scan(sub="00aa", minutes_ago=40 * 24 * 60)  # last month's partition
    upload(pg_console, [visit, contact, yellow, marked, old])
    red = scan(sub="00ee", status="red", decision="hold", reasons=["code_valid", "red"])
    alert(pg_console, red)
    client = client_as("tracer")

    page = client.get("/console/records?sub=00aa").content.decode()
    assert re.findall(r'<tr data-record="([^"]+)"', page) == [visit["id"]]

    assert [a["record_id"] for a in client.get("/console/api/alerts").json()["alerts"]] == [red["id"]]
    client.post("/console/alerts/paging", {"yellow_and_itinerary": "on"})
    paged = {a["record_id"] for a in client.get("/console/api/alerts").json()["alerts"]}
    assert paged == {red["id"], yellow["id"], marked["id"]}
    assert client.post(f"/console/alerts/{marked['id']}/acknowledge", {"note": "ok"}).status_code == 302
    assert Alert.objects.get(pk=marked["id"]).ack_note == "ok"

    trace = client.get("/console/trace?sub=00aa").content.decode()
    assert contact["id"] in trace and old["id"] not in trace
    assert AuditEntry.objects.get(action="trace").count == 2


def test_fleet_counts_and_csv_export_on_postgresql(pg_console, client_as):
    from gate.collector.console.fleet import gate_rows

    upload(pg_console, [scan(minutes_ago=5, sub="00aa"), scan(minutes_ago=26 * 60, sub="00aa")])
    alert(pg_console, scan(sub="00zz", status="red", decision="hold", reasons=["code_valid", "red"]))
    rows = {r.device_id: r for r in gate_rows()}
    assert (rows["gate-test-0001"].scans_24h, rows["gate-test-0001"].alerts_24h) == (2, 1)
    client = client_as("tracer")
    assert client.get("/console/fleet").status_code == 200
    answer = client.get("/console/records.csv?sub=00aa&start=2026-01-01T00:00")
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 3  # the header and both scans
    assert AuditEntry.objects.get(action="records.export").count == 2


def test_huge_page_numbers_and_dates_out_of_range_are_answered_on_postgresql(pg_console, client_as):
    upload(pg_console, [scan(minutes_ago=5)])
    client = client_as("admin")
    for path in ("/console/records?venue=&page=99999999999999999999999",
                 "/console/fleet?page=99999999999999999999999",
                 "/console/audit?page=99999999999999999999999"):
        answer = client.get(path)
        assert answer.status_code == 200 and 'id="page-number"' in answer.content.decode(), path
    last = client.get("/console/records?venue=&page=99999999999999999999999").content.decode()
    assert len(re.findall(r'<tr data-record="([^"]+)"', last)) == 1  # the last page, with its row
    for path in ("/console/records", "/console/records.csv", "/console/trace", "/console/trace.csv"):
        answer = client.get(f"{path}?sub=00aa&start=0001-01-01&end=0001-01-02")
        assert answer.status_code == 400 and "2000-01-01" in answer.content.decode(), path


def test_the_fleet_filters_sorts_and_pages_on_postgresql(pg_console, client_as):
    from gate.collector import devices
    from gate.collector.console.fleet import fleet_page

    for n in range(55):
        devices.add_device(f"gate-pg-{n:03d}", f"{n:043d}=")
    first = fleet_page(size=50)
    assert first.pages == 2 and len(first.rows) == 50 and first.counts["all"] == 56
    assert fleet_page(page=9, size=50).number == 2
    by_id = fleet_page(sort="-id", search="gate-pg-05")
    assert [r.device_id for r in by_id.rows] == [f"gate-pg-05{n}" for n in range(4, -1, -1)]
