"""Contact tracing's definition (console.md) on hand-built records, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gate.collector import ingest
from gate.collector.records import canonical_time, check_record
from gate.collector.tracing import parse_time, trace
from tests.collectorkit import new_record

SUBJECT = "00" * 16
T0 = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
START, END = T0 - timedelta(days=1), T0 + timedelta(days=1)


def store(alias_both: str, *records: dict) -> None:
    rows = [check_record(r, r["device_id"], T0.timestamp()) for r in records]
    ingest.store_records(rows, alias_both)


def scan(minutes: float = 0.0, sub: str = SUBJECT, venue: str = "venue-a", issuer: str = "CN-JX",
         decision: str = "allow", device: str = "gate-a") -> dict:
    moment = T0 + timedelta(minutes=minutes)
    return new_record(device, id=str(uuid.uuid4()), venue_id=venue, decision=decision,
                      scanned_at=canonical_time(moment),
                      code={"valid": True, "reason": "ok", "issuer": issuer, "sub": sub,
                            "cti": "1", "status": "green", "itinerary_risk": False})


def run(**kwargs):
    kwargs.setdefault("start", START)
    kwargs.setdefault("end", END)
    return trace(SUBJECT, "CN-JX", **kwargs)


def test_visits_are_the_subjects_records_in_range_any_decision_sorted(alias_both):
    later = scan(60, decision="deny", venue="venue-b")
    first = scan(0)
    outside = scan(3 * 24 * 60)
    store(alias_both, later, first, outside)
    result = run()
    assert result["subject"] == {"issuer": "CN-JX", "sub": SUBJECT}
    assert [v["record_id"] for v in result["visits"]] == [first["id"], later["id"]]
    assert result["visits"][1] == {"record_id": later["id"], "device_id": "gate-a",
                                   "venue_id": "venue-b", "scanned_at": "2026-11-20T11:00:00.000Z",
                                   "decision": "deny"}


def test_a_contact_exactly_at_the_window_counts_and_one_second_past_does_not(alias_both):
    visit = scan(0)
    at_edge = scan(30, sub="11" * 16)
    before_edge = scan(-30, sub="22" * 16)
    past = scan(30 + 1 / 60, sub="33" * 16)
    store(alias_both, visit, at_edge, before_edge, past)
    contacts = run()["contacts"]
    assert [c["record_id"] for c in contacts] == [before_edge["id"], at_edge["id"]]
    assert contacts[1] == {"issuer": "CN-JX", "sub": "11" * 16, "record_id": at_edge["id"],
                           "venue_id": "venue-a", "scanned_at": "2026-11-20T10:30:00.000Z",
                           "visit_record_id": visit["id"], "minutes_apart": 30.0}


def test_the_subjects_own_records_are_never_contacts(alias_both):
    store(alias_both, scan(0), scan(5), scan(10, issuer="CN-JX"))
    result = run()
    assert len(result["visits"]) == 3 and result["contacts"] == []


def test_another_venue_at_the_same_minute_is_not_a_contact(alias_both):
    store(alias_both, scan(0), scan(0, sub="44" * 16, venue="venue-b"))
    assert run()["contacts"] == []


def test_a_visit_outside_the_time_range_brings_no_contacts(alias_both):
    store(alias_both, scan(-3 * 24 * 60), scan(-3 * 24 * 60 + 1, sub="55" * 16))
    assert run() == {"subject": {"issuer": "CN-JX", "sub": SUBJECT}, "visits": [],
                     "contacts": []}


def test_a_contact_near_several_visits_is_listed_once_with_its_nearest_visit(alias_both):
    v1, v2 = scan(0), scan(20)
    contact = scan(14, sub="66" * 16)
    store(alias_both, v1, v2, contact)
    contacts = run()["contacts"]
    assert len(contacts) == 1
    assert (contacts[0]["visit_record_id"], contacts[0]["minutes_apart"]) == (v2["id"], 6.0)


def test_contacts_are_sorted_by_time_then_record_id(alias_both):
    store(alias_both, scan(0))
    same_time = [scan(5, sub=f"{i:02d}" * 16) for i in range(7, 10)]
    earlier = scan(-5, sub="aa" * 16)
    store(alias_both, *same_time, earlier)
    contacts = run()["contacts"]
    assert [c["record_id"] for c in contacts] == [earlier["id"]] + sorted(r["id"] for r in same_time)


def test_another_issuer_with_the_same_sub_is_another_subject(alias_both):
    store(alias_both, scan(0), scan(3, issuer="CN-GD"))
    contacts = run()["contacts"]
    assert [(c["issuer"], c["sub"]) for c in contacts] == [("CN-GD", SUBJECT)]
    # without an issuer every issuer's record of that sub is the subject's
    assert len(trace(SUBJECT, None, START, END)["visits"]) == 2


def test_a_narrower_window_and_range_are_honoured(alias_both):
    store(alias_both, scan(0), scan(8, sub="77" * 16), scan(60 * 5, sub="88" * 16))
    assert [c["sub"] for c in run(window_min=10)["contacts"]] == ["77" * 16]
    assert run(window_min=5)["contacts"] == []


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T10:00:00Z", T0), ("2026-11-20T18:00:00+08:00", T0),
    (str(int(T0.timestamp())), T0), ("2026-11-20T10:00:00", T0),
])
def test_times_are_iso_8601_or_epoch_seconds(text, expected):
    assert parse_time(text) == expected


def test_a_time_that_is_neither_is_refused():
    with pytest.raises(ValueError, match="not an ISO 8601 time or epoch seconds"):
        parse_time("last tuesday")
