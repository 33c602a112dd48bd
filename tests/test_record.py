"""gate/record.py: ids made at the scan, the RECORD of upload.md and its round trip."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from gate.codes.result import VerifyResult
from gate.record import (
    Record,
    Uuid7Generator,
    code_summary,
    is_alert,
    iso_utc_ms,
    new_uuid7,
    parse_iso_utc,
    subject_key,
    uuid7_ms,
)

T = 1795421702.123  # 2026-11-23T08:15:02.123Z, the scan of upload.md's example

UPLOAD_MD_KEYS = [
    "id", "device_id", "venue_id", "venue_type", "scanned_at", "clock_trusted", "code",
    "temperature_c", "temperature_state", "decision", "decision_reasons", "rules_version",
    "trust_list_version", "override",
]
PROJECT_KEYS = ["trust_list_stale", "fire_release", "temperature_raw", "alert", "faults", "bulletin_version"]


def make_record(**changes) -> Record:
    fields = dict(
        id=new_uuid7(T),
        device_id="gate-nc-0001",
        venue_id="360102-012-north-gate",
        venue_type="residential",
        scanned_at=iso_utc_ms(T),
        clock_trusted=True,
        code={"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": "0011eeff",
              "cti": "a1b2c3d4e5f60708", "status": "green", "itinerary_risk": False},
        temperature_c=36.6,
        temperature_state="normal",
        decision="allow",
        decision_reasons=["green", "temperature_normal"],
        rules_version="residential@3",
        trust_list_version=7,
    )
    fields.update(changes)
    return Record(**fields)


# --- UUIDv7 ---


def test_uuid7_has_version_7_variant_10_and_the_scan_millisecond():
    text = Uuid7Generator()(T)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
    parsed = uuid.UUID(text)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert uuid7_ms(text) == 1795421702123


def test_uuid7_ids_increase_within_one_millisecond():
    make = Uuid7Generator()
    ids = [make(T) for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {uuid7_ms(i) for i in ids} == {1795421702123}


def test_uuid7_ids_sort_by_time():
    make = Uuid7Generator()
    ids = [make(T + i * 0.001) for i in range(0, 3000, 7)]
    assert ids == sorted(ids)
    assert [uuid7_ms(i) for i in ids] == [1795421702123 + i for i in range(0, 3000, 7)]


def test_uuid7_stays_monotonic_when_the_clock_steps_back():
    make = Uuid7Generator()
    later = make(T + 10)
    assert make(T) > later


def test_the_process_wide_ids_strictly_increase():
    ids = [new_uuid7(T + (i % 3) * 0.001) for i in range(500)]
    assert ids == sorted(ids) and len(set(ids)) == 500


def test_uuid7_random_bits_differ_between_generators_and_milliseconds():
    a, b = Uuid7Generator()(T), Uuid7Generator()(T)
    assert a != b and a[:13] == b[:13]


def test_uuid7_refuses_a_time_it_cannot_hold():
    with pytest.raises(ValueError):
        new_uuid7(-1.0)
    with pytest.raises(ValueError):
        new_uuid7(2.0**48)


# --- time stamps ---


def test_scanned_at_is_iso_utc_with_milliseconds_and_z():
    assert iso_utc_ms(T) == "2026-11-23T08:15:02.123Z"
    assert iso_utc_ms(0) == "1970-01-01T00:00:00.000Z"
    assert parse_iso_utc("2026-11-23T08:15:02.123Z") == pytest.approx(T)


def test_parse_iso_utc_refuses_a_local_time():
    with pytest.raises(ValueError):
        parse_iso_utc("2026-11-23T07:35:02.123")


# --- the code summary ---


def test_code_summary_keeps_no_name_home_or_dates():
    result = VerifyResult(valid=True, reason="ok", status="yellow", issuer="CN-JX", sub="00ff",
                          cti="a1", iat=1, exp=2, itinerary_risk=True, home="360102-012",
                          name="张*", status_raised=True)
    assert code_summary(result) == {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": "00ff",
                                    "cti": "a1", "status": "yellow", "itinerary_risk": True}


def test_code_summary_of_an_invalid_code():
    assert code_summary(VerifyResult.refused("expired")) == {
        "valid": False, "reason": "expired", "issuer": None, "sub": None, "cti": None,
        "status": None, "itinerary_risk": False}


# --- the record ---


def test_record_json_has_upload_md_keys_in_order_then_additions():
    data = make_record().to_json()
    assert list(data) == UPLOAD_MD_KEYS + PROJECT_KEYS
    assert list(data["code"]) == ["valid", "reason", "issuer", "sub", "cti", "status", "itinerary_risk"]
    assert data["override"] is None
    assert "name" not in json.dumps(data)


def test_record_round_trips_through_json():
    record = make_record(
        decision="allow", decision_reasons=["override"],
        override={"record_id": new_uuid7(T - 5), "overrode": "manual"},
        temperature_raw={"object_c": 36.1, "ambient_c": 22.5}, trust_list_stale=True,
        fire_release=False, clock_trusted=False, trust_list_version=None,
        faults=["clock_untrusted", "status_list_missing"], bulletin_version=12,
    )
    again = Record.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record


def test_record_from_another_gate_without_project_keys_gets_defaults():
    data = make_record(decision="hold", code={**make_record().code, "status": "red"}).to_json()
    for key in PROJECT_KEYS:
        del data[key]
    record = Record.from_json(data)
    assert record.alert is True
    assert (record.trust_list_stale, record.fire_release, record.temperature_raw) == (False, False, None)
    assert record.faults == []
    assert record.bulletin_version == 0


def test_record_bulletin_version_must_be_a_non_negative_integer():
    data = make_record().to_json()
    assert data["bulletin_version"] == 0
    for bad, message in (("12", "must be int"), (True, "must be int"), (-1, "must not be negative")):
        data["bulletin_version"] = bad
        with pytest.raises(ValueError, match=message):
            Record.from_json(data)


def test_record_faults_must_be_a_list_of_codes():
    data = make_record().to_json()
    data["faults"] = "status_list_missing"
    with pytest.raises(ValueError, match="'faults' must be list"):
        Record.from_json(data)
    data["faults"] = [1]
    with pytest.raises(ValueError, match="'faults' must be a list of strings"):
        Record.from_json(data)


@pytest.mark.parametrize("decision,status,alert", [
    ("hold", "red", True), ("refer", "green", True), ("deny", "red", True),
    ("deny", "yellow", False), ("allow", "green", False), ("recheck", "green", False),
    ("deny", None, False),
])
def test_alert_is_hold_refer_or_a_red_code(decision, status, alert):
    assert is_alert(decision, status) is alert
    record = make_record(decision=decision, code={**make_record().code, "status": status})
    assert record.alert is alert


def test_subject_key_is_issuer_and_sub():
    assert make_record().subject_key == "CN-JX:0011eeff"
    assert subject_key(None, "00ff") is None
    assert subject_key("CN-JX", None) is None


def test_record_refuses_an_unknown_decision():
    with pytest.raises(ValueError, match="decision 'open'"):
        make_record(decision="open")


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.pop("decision_reasons"), "'decision_reasons' is missing"),
    (lambda d: d.update(clock_trusted="yes"), "'clock_trusted' must be bool"),
    (lambda d: d.update(temperature_c=True), "'temperature_c' must be"),
    (lambda d: d.update(trust_list_version="7"), "'trust_list_version' must be int or null"),
    (lambda d: d["code"].pop("sub"), "'code.sub' is missing"),
    (lambda d: d.update(id="not-a-uuid"), "not a lowercase UUID"),
    (lambda d: d.update(scanned_at="yesterday"), "not ISO 8601"),
    (lambda d: d.update(override={"record_id": 3}), "'override.record_id' must be str"),
    (lambda d: d.update(decision_reasons=[1]), "list of strings"),
])
def test_from_json_refuses_a_bad_record_with_one_line(mutate, message):
    data = make_record().to_json()
    mutate(data)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        Record.from_json(data)
    assert "\n" not in str(info.value)


def test_from_json_refuses_what_is_not_an_object():
    with pytest.raises(ValueError, match="not a JSON object"):
        Record.from_json([1, 2])
