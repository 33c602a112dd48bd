"""What the duty officer is paged for (gate.collector.console.paging): every urgent record is on
the alerts page as an alert, whichever path it came by; yellow codes and itinerary marks in
ordinary batches follow the vocabulary's rule, for an officer who chose them."""

from __future__ import annotations

import itertools

from gate import vocabulary
from gate.collector.console import paging
from gate.collector.models import Record
from tests.collector.console.conftest import scan, upload
from tests.collector.console.test_pages import signed_in


def test_an_urgent_record_that_came_only_in_a_batch_is_on_the_alerts_page(console, client_as):
    held = scan(status="red", decision="hold", reasons=["code_valid", "red"], minutes_ago=0)
    fever = scan(status="green", decision="refer", temperature_c=38.6, minutes_ago=0,
                 reasons=["code_valid", "green", "temperature_abnormal", "fever_confirmed"])
    upload(console, [scan(), held, fever])  # a gate whose alert requests were lost
    listed = client_as("viewer").get("/console/api/alerts").json()["alerts"]
    assert {a["record_id"] for a in listed} == {held["id"], fever["id"]}
    assert not any(a["paged"] for a in listed)  # alerts, not records paged by choice
    page = client_as("viewer").get("/console/alerts").content.decode()
    assert f'data-record="{held["id"]}"' in page and f'data-record="{fever["id"]}"' in page


def test_a_batch_only_alert_is_seen_in_the_browser_and_can_be_acknowledged(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    record = scan(status="red", decision="hold", reasons=["code_valid", "red"], minutes_ago=0,
                  venue="360102-mall-2")
    upload(console, [record])
    row = page.locator(f'#alerts tr[data-record="{record["id"]}"]')
    row.wait_for()
    assert row.is_visible() and "请原地等候" in row.inner_text() and "360102-mall-2" in row.inner_text()


def test_an_alert_sent_both_ways_is_listed_once(console, client_as):
    record = scan(status="red", decision="hold", reasons=["code_valid", "red"], minutes_ago=0)
    upload(console, [record])
    answer = console.post_json("/v1/alerts", {"batch_id": "late", "records": [record]})
    assert answer.json()["duplicates"] == [record["id"]]
    listed = client_as("viewer").get("/console/api/alerts").json()["alerts"]
    assert [a["record_id"] for a in listed] == [record["id"]]


def test_the_records_paged_by_choice_are_the_vocabularys(console):
    """Every combination of decision, status, itinerary mark and reason, uploaded in batches: the
    console's query picks exactly those the vocabulary's rule names."""
    records = []
    for decision, status, mark, reason in itertools.product(
            ("allow", "deny", "recheck", "hold"), ("green", "yellow", "red"), (False, True),
            ("green", vocabulary.ITINERARY_MARK_REASON)):
        records.append(scan(decision=decision, status=status, itinerary_risk=mark,
                            reasons=["code_valid", reason], minutes_ago=1))
    upload(console, records)
    picked = set(Record.objects.filter(paging.batch_marks()).values_list("id", flat=True))
    expected = {r["id"] for r in records
                if vocabulary.paged_on_request(r["decision"], r["code"]["status"],
                                               r["decision_reasons"], r["code"]["itinerary_risk"])}
    assert picked == expected and len(expected) > 10
