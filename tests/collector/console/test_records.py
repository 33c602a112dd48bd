"""Record search (tracer): every criterion, pages, CSV export; searches and exports audited."""

from __future__ import annotations

import csv
import io
import re

from gate.collector.console import search
from gate.collector.models import AuditEntry
from tests.collector.console.conftest import scan, upload


def ids(page: str) -> list[str]:
    body = page[page.index('id="records"'):]
    return re.findall(r'<tr data-record="([^"]+)"', body)


def test_each_criterion_narrows_the_search(console, client_as):
    a = scan(sub="00aa", venue="v-east", minutes_ago=10)
    b = scan(sub="00bb", venue="v-west", decision="deny", reasons=["code_invalid", "expired"],
             issuer="CN-ZJ-SX", minutes_ago=20)
    c = scan(sub="00cc", venue="v-east", status="yellow", decision="recheck",
             reasons=["code_valid", "yellow"], minutes_ago=30)
    upload(console, [a, b, c])
    client = client_as("tracer")
    cases = {"venue=v-east": [a, c], "decision=deny": [b], "reason=yellow": [c],
             "issuer=CN-ZJ-SX": [b], "sub=00AA": [a], "gate=gate-test-0001": [a, b, c],
             "gate=other": []}
    for query, expected in cases.items():
        page = client.get(f"/console/records?{query}").content.decode()
        assert ids(page) == [r["id"] for r in expected], query


def test_the_time_range_bounds_the_search_and_defaults_to_a_week(console, client_as):
    recent, old = scan(minutes_ago=60), scan(minutes_ago=8 * 24 * 60)
    upload(console, [recent, old])
    client = client_as("tracer")
    assert ids(client.get("/console/records?venue=").content.decode()) == [recent["id"]]
    from datetime import datetime, timedelta

    start = (datetime.now() - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/console/records?start={start}&end=").content.decode()
    assert set(ids(page)) == {recent["id"], old["id"]}


def test_a_range_backwards_is_a_clear_error(console, client_as):
    answer = client_as("tracer").get("/console/records?start=2026-11-02T00:00&end=2026-11-01T00:00")
    assert answer.status_code == 400
    assert "起始时间晚于结束时间" in answer.content.decode()


def test_results_come_in_pages(console, client_as):
    records = [scan(minutes_ago=n) for n in range(1, search.PAGE_SIZE + 6)]
    upload(console, records)
    client = client_as("tracer")
    first = client.get("/console/records?venue=").content.decode()
    second = client.get("/console/records?venue=&page=2").content.decode()
    assert ids(first) == [r["id"] for r in records[:search.PAGE_SIZE]]
    assert ids(second) == [r["id"] for r in records[search.PAGE_SIZE:]]
    assert 'rel="next"' in first and 'rel="next"' not in second


def test_a_search_is_audited_with_its_criteria_and_count(console, client_as):
    upload(console, [scan(sub="00aa"), scan(sub="00aa"), scan(sub="00bb")])
    client_as("tracer").get("/console/records?sub=00aa", REMOTE_ADDR="10.3.3.3")
    entry = AuditEntry.objects.get(action="records.search")
    assert entry.count == 2 and entry.what["sub"] == "00aa" and entry.address == "10.3.3.3"
    assert "start" in entry.what and "end" in entry.what


def test_the_csv_export_has_every_match_and_is_audited_with_its_count(console, client_as):
    a = scan(sub="00aa", temperature_c=37.9, minutes_ago=1)
    b = scan(sub="00aa", temperature_c=None, minutes_ago=2)
    upload(console, [a, b, scan(sub="00bb")])
    answer = client_as("tracer").get("/console/records.csv?sub=00aa")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["record_id"] for r in rows] == [a["id"], b["id"]]
    assert rows[0]["temperature_c"] == "37.9" and rows[1]["temperature_c"] == ""
    assert AuditEntry.objects.get(action="records.export").count == 2


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(console, client_as):
    hostile = scan(venue="=HYPERLINK(\"http://x\")")
    upload(console, [hostile])
    answer = client_as("tracer").get("/console/records.csv?venue=" + "%3DHYPERLINK(%22http://x%22)")
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_a_viewer_can_neither_search_nor_export(console, client_as):
    upload(console, [scan()])
    client = client_as("viewer")
    assert client.get("/console/records?venue=").status_code == 403
    assert client.get("/console/records.csv").status_code == 403
    assert not AuditEntry.objects.exists()


def test_a_scan_stamped_a_little_ahead_by_a_fast_gate_clock_is_found(console, client_as):
    ahead = scan(minutes_ago=-30)
    upload(console, [ahead])
    assert ids(client_as("tracer").get("/console/records?venue=").content.decode()) == [ahead["id"]]


def test_decisions_and_reasons_are_shown_in_words_with_their_codes(console, client_as):
    from django.utils.html import escape

    from gate.vocabulary import REASON_MEANINGS, saying

    denied = scan(decision="deny", reasons=["code_invalid", "expired"], minutes_ago=5)
    upload(console, [denied])
    page = client_as("tracer", HTTP_ACCEPT_LANGUAGE="en").get("/console/records?decision=deny").content.decode()
    assert 'data-decision="deny">NO ENTRY<' in page
    assert escape(saying("deny", "expired", "residential").en) in page
    assert f'title="{escape(REASON_MEANINGS["expired"])}">expired</abbr>' in page
    chinese = client_as("tracer").get("/console/records?decision=deny").content.decode()
    assert 'data-decision="deny">禁止通行<' in chinese
    assert escape(saying("deny", "expired", "residential").zh) in chinese
    from gate.vocabulary import REASON_MEANINGS_ZH

    assert f'title="{escape(REASON_MEANINGS_ZH["expired"])}">expired</abbr>' in chinese  # the meaning in Chinese too


def test_columns_sort_both_ways(console, client_as):
    cool = scan(minutes_ago=10, temperature_c=36.1, venue="v-b")
    warm = scan(minutes_ago=20, temperature_c=37.0, venue="v-a")
    mid = scan(minutes_ago=30, temperature_c=36.5, venue="v-c")
    upload(console, [cool, warm, mid])
    client = client_as("tracer")
    by = {sort: ids(client.get(f"/console/records?venue=&sort={sort}").content.decode())
          for sort in ("temperature", "-temperature", "venue", "-venue", "scanned_at")}
    assert by["temperature"] == [cool["id"], mid["id"], warm["id"]]
    assert by["-temperature"] == [warm["id"], mid["id"], cool["id"]]
    assert by["venue"] == [warm["id"], cool["id"], mid["id"]]
    assert by["-venue"] == [mid["id"], cool["id"], warm["id"]]
    assert by["scanned_at"] == [mid["id"], warm["id"], cool["id"]]  # oldest first
    page = client.get("/console/records?venue=&sort=temperature").content.decode()
    assert "sort=-temperature" in page  # the current column's heading turns the order round


def test_a_records_detail_page_says_everything_in_words_and_is_audited(console, client_as):
    from tests.collector.console.conftest import alert

    record = scan(status="red", decision="hold", reasons=["code_valid", "red"], venue="v-east",
                  temperature_c=36.9)
    alert(console, record)
    client = client_as("tracer")
    page = client.get(f"/console/records/{record['id']}").content.decode()
    for words in ("请原地等候", "健康码当前状态为红码", "红码", "住宅小区", "36.9 °C", "v-east",
                  "gate-test-0001", "未处置", "溯源此人"):
        assert words in page, words
    entry = AuditEntry.objects.get(action="record.view")
    assert entry.what == {"record_id": record["id"]} and entry.count == 1
    listed = client.get("/console/records?venue=v-east").content.decode()
    assert f'/console/records/{record["id"]}' in listed
    assert client_as("viewer").get(f"/console/records/{record['id']}").status_code == 403


def test_the_csv_is_in_local_time_with_its_offset(console, client_as):
    upload(console, [scan(minutes_ago=5)])
    answer = client_as("tracer").get("/console/records.csv?venue=")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert rows[0]["scanned_at"].endswith("+08:00") and rows[0]["received_at"].endswith("+08:00")
