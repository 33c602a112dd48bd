"""Checking one uploaded RECORD before it is stored."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from gate.collector.records import (MAX_LENGTHS, RecordError, ScanWindow, check_record,
                                    may_hold_bad_text, normalise_scanned_at)

DEVICE = "gate-test-0001"


def check(record):
    return check_record(record, DEVICE, 1764000000.5)


def test_a_valid_record_becomes_a_row_with_indexed_columns(make_record):
    record = make_record(id="0192F8A4-7C1E-7D2A-9B3E-1F2A3B4C5D6E", decision="deny")
    row = check(record)
    assert row.id == "0192f8a4-7c1e-7d2a-9b3e-1f2a3b4c5d6e"
    assert (row.device_id, row.decision, row.received_at) == (DEVICE, "deny", 1764000000.5)
    assert row.scanned_at == "2026-11-23T08:15:02.123Z"
    assert json.loads(row.record_json) == record


def test_extra_keys_are_kept(make_record):
    record = make_record(new_key={"x": 1})
    assert json.loads(check(record).record_json)["new_key"] == {"x": 1}


@pytest.mark.parametrize("field", ["temperature_c", "temperature_state", "trust_list_version",
                                   "override"])
def test_nullable_fields_may_be_null(make_record, field):
    check(make_record(**{field: None}))


@pytest.mark.parametrize("field", ["device_id", "venue_id", "venue_type", "scanned_at",
                                   "clock_trusted", "code", "temperature_c", "temperature_state",
                                   "decision", "decision_reasons", "rules_version",
                                   "trust_list_version", "override"])
def test_every_field_is_required(make_record, field):
    record = make_record()
    del record[field]
    with pytest.raises(RecordError, match=f"missing_field:{field}"):
        check(record)


@pytest.mark.parametrize("field, value", [
    ("clock_trusted", 1), ("code", "ok"), ("temperature_c", "36.6"), ("temperature_c", True),
    ("temperature_c", float("nan")), ("decision_reasons", "green"), ("decision_reasons", [1]),
    ("trust_list_version", 7.5), ("trust_list_version", False), ("override", []),
    ("venue_id", None), ("rules_version", 3),
])
def test_wrong_types_are_refused(make_record, field, value):
    with pytest.raises(RecordError, match=f"bad_type:{field}"):
        check(make_record(**{field: value}))


@pytest.mark.parametrize("value", [None, 7, "", "0192f8a47c1e7d2a9b3e1f2a3b4c5d6e", "x" * 36])
def test_an_id_that_is_not_a_uuid_string_is_refused(make_record, value):
    with pytest.raises(RecordError, match="bad_id"):
        check(make_record(id=value))


@pytest.mark.parametrize("decision", ["allow", "deny", "recheck", "refer", "hold", "manual"])
def test_every_decision_of_the_vocabulary_is_accepted(make_record, decision):
    assert check(make_record(decision=decision)).decision == decision


def test_other_refusals(make_record):
    with pytest.raises(RecordError, match="bad_decision"):
        check(make_record(decision="open"))
    with pytest.raises(RecordError, match="device_mismatch"):
        check(make_record(device_id="gate-other"))
    with pytest.raises(RecordError, match="not_an_object"):
        check(["a list"])
    with pytest.raises(RecordError, match="nul_character"):
        check(make_record(venue_id="a\x00b"))


@pytest.mark.parametrize("text, normal", [
    ("2026-11-23T08:15:02.123Z", "2026-11-23T08:15:02.123Z"),
    ("2026-11-23T16:15:02+08:00", "2026-11-23T08:15:02.000Z"),
    ("2026-11-23T08:15:02.123456Z", "2026-11-23T08:15:02.123Z"),
])
def test_scan_times_are_normalised_to_utc(text, normal):
    assert normalise_scanned_at(text) == normal


@pytest.mark.parametrize("text", ["2026-11-23T08:15:02", "yesterday", ""])
def test_a_scan_time_without_zone_or_not_a_time_is_refused(text):
    with pytest.raises(RecordError, match="bad_scanned_at"):
        normalise_scanned_at(text)


@pytest.mark.parametrize("where", ["venue_type", "rules_version", "temperature_state"])
def test_a_lone_surrogate_anywhere_is_refused_as_bad_text(make_record, where):
    with pytest.raises(RecordError, match="bad_text"):
        check(make_record(**{where: "a\udc00"}))
    assert check(make_record(**{where: "a\U0001F600"}))  # a surrogate pair is a character


def test_the_body_is_searched_for_bad_text_only_when_it_can_hold_some():
    assert may_hold_bad_text(b'{"a": "\\ud800"}') and may_hold_bad_text(b'{"a": "\\u0000"}')
    assert may_hold_bad_text(b'{"a": "\\uDFFF"}')
    assert not may_hold_bad_text('{"a": "\\u00e9 闸"}'.encode())


def test_a_device_id_outside_the_alphabet_is_refused(make_record):
    with pytest.raises(RecordError, match="bad_device_id"):
        check_record(make_record(device_id="a/b"), "a/b", 0.0)


def test_the_plausible_window_runs_from_the_retention_to_a_day_ahead(make_record):
    now = datetime(2026, 12, 7, 12, tzinfo=timezone.utc).timestamp()
    window = ScanWindow.around(now, retention_days=10)
    assert window == ScanWindow("2026-11-27T12:00:00.000Z", "2026-12-08T12:00:00.000Z")
    for inside in ("2026-11-27T12:00:00.000Z", "2026-12-08T20:00:00+08:00"):
        assert check_record(make_record(scanned_at=inside), DEVICE, now, window=window)
    for outside in ("2026-11-27T11:59:59.999Z", "2026-12-08T12:00:00.001Z", "0001-01-01T00:00:00Z"):
        with pytest.raises(RecordError, match="bad_scanned_at"):
            check_record(make_record(scanned_at=outside), DEVICE, now, window=window)


def test_a_temperature_too_large_for_a_float_is_refused_not_raised(make_record):
    with pytest.raises(RecordError, match="bad_type:temperature_c"):
        check(make_record(temperature_c=10 ** 400))
    assert check(make_record(temperature_c=37)).temperature_c == 37.0


@pytest.mark.parametrize("field, value", [
    ("venue_id", "v" * 201), ("venue_type", "v" * 101), ("issuer", "i" * 101), ("sub", "s" * 201), ("code_status", "c" * 21)])
def test_text_longer_than_its_column_is_refused(make_record, field, value):
    record = make_record(**({field: value} if field.startswith("venue") else {}))
    if not field.startswith("venue"):
        record["code"] = dict(record["code"], **{field if field != "code_status" else "status": value})
    with pytest.raises(RecordError, match=f"too_long:{field}"):
        check(record)


def test_the_column_lengths_are_the_models():
    from gate.collector import django_db

    django_db.setup()
    from gate.collector.models import Record

    assert MAX_LENGTHS == {name: Record._meta.get_field(name).max_length for name in MAX_LENGTHS}
