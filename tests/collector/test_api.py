"""The device API against bad peers and its newer parts: id conflicts, hostile bodies, alert
batches, heartbeats and the bulletin (real HTTP on loopback, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector.models import Alert, Heartbeat, Record

OTHER = "gate-test-0002"


def add_other_device(collector) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    collector.db.add_device(OTHER, devicesig.public_key_b64(key.public_key()))
    return key


def batch(records) -> dict:
    return {"batch_id": str(uuid.uuid4()), "records": records}


# --- ids are unique per device -------------------------------------------------------------------

def test_an_id_held_for_another_device_is_rejected_as_id_conflict(any_collector, make_record):
    key = add_other_device(any_collector)
    mine = make_record()
    assert any_collector.upload([mine]).json()["accepted"] == [mine["id"]]
    theirs = make_record(OTHER, id=mine["id"], venue_id="elsewhere")
    fresh = make_record(OTHER)
    answer = any_collector.upload([theirs, fresh], key=key, device_id=OTHER).json()
    assert answer == {"accepted": [fresh["id"]], "duplicates": [],
                      "rejected": [{"id": mine["id"], "error": "id_conflict"}]}
    assert any_collector.db.record(mine["id"]) == mine  # device A's record is kept
    # the owner still gets its duplicate answer
    assert any_collector.upload([mine]).json()["duplicates"] == [mine["id"]]


def test_an_alert_whose_id_another_device_holds_is_rejected_and_not_paged(
        collector_factory, tmp_path, make_record):
    log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=log)
    key = add_other_device(collector)
    mine = make_record()
    collector.upload([mine])
    answer = collector.post_json("/v1/alerts", make_record(OTHER, id=mine["id"], decision="hold"),
                                 key=key, device_id=OTHER).json()
    assert answer["rejected"] == [{"id": mine["id"], "error": "id_conflict"}]
    assert not log.exists()


# --- hostile bodies get a 400 with a reason or a rejection, never a 500 --------------------------

def test_json_nested_100000_deep_is_400_with_a_reason(collector_server):
    body = b"[" * 100_000 + b"]" * 100_000
    answer = collector_server.request("POST", "/v1/scans", body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "bad_json", "reason": "nested too deeply"}
    deep_alert = collector_server.request("POST", "/v1/alerts", b'{"a":' * 100_000 + b"1"
                                          + b"}" * 100_000)
    assert deep_alert.status_code == 400


def test_a_scan_time_of_year_1_at_plus_14_is_rejected_with_its_reason(any_collector, make_record):
    bad = make_record(scanned_at="0001-01-01T00:00:00+14:00")
    good = make_record()
    answer = any_collector.upload([bad, good])
    assert answer.status_code == 200
    assert answer.json() == {"accepted": [good["id"]], "duplicates": [],
                             "rejected": [{"id": bad["id"], "error": "bad_scanned_at"}]}


def test_a_scan_in_year_1_utc_is_rejected_as_implausible(any_collector, make_record):
    old = make_record(scanned_at="0001-01-01T00:00:00Z")
    assert any_collector.upload([old]).json()["rejected"] == [
        {"id": old["id"], "error": "bad_scanned_at"}]


# --- alerts: a batch or one bare RECORD, stored once ---------------------------------------------

def test_an_alert_batch_is_stored_once_and_each_alert_paged_once(
        any_collector, make_record, tmp_path, collector_factory, webhook_recorder, request):
    log = tmp_path / "alerts-batch.jsonl"
    db_url = None if "sqlite" in request.node.callspec.id else any_collector.app.db.alias
    collector = any_collector if db_url else collector_factory(alert_log=log,
                                                               webhook_url=webhook_recorder.url)
    if db_url:  # PostgreSQL: same checks, without the log
        log = None
    alerts = [make_record(decision="hold"), make_record(decision="refer"),
              make_record(code={"valid": True, "reason": "ok", "issuer": "CN-JX",
                                "sub": "ab" * 16, "cti": "1", "status": "red",
                                "itinerary_risk": False}, decision="deny")]
    first = collector.post_json("/v1/alerts", batch(alerts)).json()
    assert first == {"accepted": [a["id"] for a in alerts], "duplicates": [], "rejected": []}
    again = collector.post_json("/v1/alerts", batch(alerts)).json()
    assert again["duplicates"] == [a["id"] for a in alerts]
    later = collector.upload(alerts + [make_record()]).json()
    assert later["duplicates"] == [a["id"] for a in alerts] and len(later["accepted"]) == 1
    assert collector.db.count_records() == 4
    with collector.app.activate():
        assert Alert.objects.count() == 3
        assert Record.objects.filter(is_alert=True).count() == 3
    if log is not None:
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        assert [line["record"]["id"] for line in lines] == [a["id"] for a in alerts]
        assert len(webhook_recorder.wait_for(3)) == 3


def test_a_bare_alert_record_of_the_first_version_is_stored_once(any_collector, make_record):
    alert = make_record(decision="hold")
    assert any_collector.post_json("/v1/alerts", alert).json() == {
        "accepted": [alert["id"]], "duplicates": [], "rejected": []}
    assert any_collector.post_json("/v1/alerts", alert).json()["duplicates"] == [alert["id"]]
    assert any_collector.db.count_records() == 1


def test_a_record_stored_by_a_batch_becomes_an_alert_when_it_comes_as_one(any_collector,
                                                                          make_record):
    record = make_record(decision="hold")
    any_collector.upload([record])
    answer = any_collector.post_json("/v1/alerts", batch([record])).json()
    assert answer["duplicates"] == [record["id"]]
    with any_collector.app.activate():
        assert Alert.objects.filter(record_id=record["id"]).exists()


# --- heartbeats ----------------------------------------------------------------------------------

def heartbeat(**overrides) -> dict:
    beat = {"device_id": "gate-test-0001", "sent_at": "2026-11-23T08:15:02.123Z",
            "software_version": "0.2.0", "venue_id": "360102-012-north-gate",
            "venue_type": "residential", "config_sha256": "9f2c", "queue_depth": 12,
            "oldest_pending_at": "2026-11-23T07:00:00.000Z", "rejected_count": 0,
            "trust_list_version": 7, "status_list_version": 1043, "bulletin_version": 0,
            "clock_trusted": True, "faults": ["camera_lost"],
            "last_scan_at": "2026-11-23T08:14:40.000Z", "uptime_s": 86400}
    beat.update(overrides)
    return beat


def test_the_latest_heartbeat_is_kept_with_its_arrival_time(any_collector):
    answer = any_collector.post_json("/v1/heartbeat", heartbeat(queue_depth=12),
                                     timestamp=int(time.time()) - 1)
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and abs(body["server_time"] - time.time()) < 60
    any_collector.post_json("/v1/heartbeat", heartbeat(queue_depth=3))
    with any_collector.app.activate():
        beats = list(Heartbeat.objects.all())
    assert len(beats) == 1
    assert beats[0].data["queue_depth"] == 3
    assert abs(beats[0].received_at.timestamp() - body["server_time"]) < 60


def test_heartbeats_are_refused_like_any_request(collector_server):
    stranger = Ed25519PrivateKey.generate()
    unknown = collector_server.post_json("/v1/heartbeat", heartbeat(device_id="nobody"),
                                         key=stranger, device_id="nobody")
    assert (unknown.status_code, unknown.json()) == (401, {"error": "unknown_device"})
    collector_server.db.set_device_enabled(collector_server.device_id, False)
    disabled = collector_server.post_json("/v1/heartbeat", heartbeat())
    assert (disabled.status_code, disabled.json()) == (403, {"error": "device_disabled"})
    with collector_server.app.activate():
        assert not Heartbeat.objects.exists()


@pytest.mark.parametrize("body, reason", [
    ([1, 2], "not an object"),
    ({"device_id": "gate-other"}, "device_id is not the signing device"),
])
def test_a_heartbeat_that_is_not_this_devices_object_is_400(collector_server, body, reason):
    answer = collector_server.post_json("/v1/heartbeat", body)
    assert (answer.status_code, answer.json()) == (400, {"error": "bad_heartbeat",
                                                         "reason": reason})


def test_a_huge_heartbeat_is_413(collector_server):
    answer = collector_server.post_json("/v1/heartbeat", heartbeat(faults=["x" * 100_000]))
    assert answer.status_code == 413


# --- the bulletin --------------------------------------------------------------------------------

def test_the_bulletin_is_served_signed_and_304_when_not_newer(collector_server, sign_list,
                                                               lists_dir):
    missing = collector_server.request("GET", "/v1/bulletin?since=0")
    assert (missing.status_code, missing.json()) == (404, {"error": "no_bulletin"})
    body = sign_list(lists_dir / "bulletin.json", {"version": 12, "note": "x"})
    answer = collector_server.request("GET", "/v1/bulletin?since=11")
    assert answer.status_code == 200 and answer.content == body
    assert answer.headers["X-Signature"] == (lists_dir / "bulletin.json.sig").read_text()
    assert collector_server.request("GET", "/v1/bulletin?since=12").status_code == 304
    assert collector_server.request("GET", "/v1/bulletin?since=x").status_code == 400


# --- the database away ---------------------------------------------------------------------------

def test_a_database_that_goes_away_is_503_with_retry_after(collector_factory, make_record):
    from tests.postgreskit import PostgresUnavailable, TemporaryPostgres

    try:
        own = TemporaryPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        collector = collector_factory(own.create_database("away"))
        assert collector.upload([make_record()]).status_code == 200
        own.stop()
        for path in ("/v1/scans", "/healthz"):
            answer = (collector.upload([make_record()]) if path == "/v1/scans"
                      else collector.session.get(collector.url + path))
            assert answer.status_code == 503
            assert answer.json() == {"error": "database_unavailable"}
            assert answer.headers["Retry-After"] == "5"
    finally:
        own.stop()


def test_a_record_holding_u0000_is_rejected_and_the_rest_stored(any_collector, make_record):
    bad = make_record(venue_id="north\x00gate")
    good = make_record()
    answer = any_collector.upload([good, bad]).json()
    assert answer == {"accepted": [good["id"]], "duplicates": [],
                      "rejected": [{"id": bad["id"], "error": "nul_character"}]}
    alert = make_record(decision="hold", rules_version="r\x00")
    assert any_collector.post_json("/v1/alerts", alert).json()["rejected"] == [
        {"id": alert["id"], "error": "nul_character"}]


# --- text that is not Unicode, ids outside the alphabet, implausible times (upload.md) ----------

LONE = "\ud800"  # a lone UTF-16 surrogate: json.dumps sends it as the escape \ud800


@pytest.mark.parametrize("where", ["venue_id", "rules_version", "code.sub", "reasons", "key"])
def test_a_record_holding_a_lone_surrogate_is_rejected_as_bad_text(any_collector, make_record,
                                                                   where):
    bad = make_record()
    if where == "code.sub":
        bad["code"] = dict(bad["code"], sub="ab" + LONE)
    elif where == "reasons":
        bad["decision_reasons"] = ["green", LONE]
    elif where == "key":
        bad["extra" + LONE] = 1
    else:
        bad[where] = "x" + LONE
    good = make_record(venue_type="家" + "\U0001F3E0")  # a real pair is valid text, kept as sent
    for path in ("/v1/scans", "/v1/alerts"):
        answer = any_collector.post_json(path, batch([bad, good]))
        assert answer.status_code == 200
        assert answer.json()["rejected"] == [{"id": bad["id"], "error": "bad_text"}]
    assert any_collector.stored_count() == 1
    assert any_collector.stored_record(good["id"]) == good


def test_an_id_holding_a_lone_surrogate_is_rejected_and_echoed_as_sent(any_collector,
                                                                      make_record):
    bad = make_record(id="0192f8a4-7c1e-7d2a-9b3e-1f2a3b4c5d6" + LONE)
    answer = any_collector.upload([bad])
    assert answer.status_code == 200
    assert answer.json()["rejected"] == [{"id": bad["id"], "error": "bad_id"}]


def test_a_heartbeat_holding_a_lone_surrogate_is_400_bad_text_and_not_stored(any_collector):
    answer = any_collector.post_json("/v1/heartbeat", heartbeat(software_version="0.2" + LONE))
    assert answer.status_code == 400 and answer.json()["error"] == "bad_text"
    assert any_collector.latest_heartbeat() is None


@pytest.mark.parametrize("device_id", ["a/b", "../etc", "..", ".", "x" * 65, "gate 1",
                                       "\x1b[31mred", "闸机"])
def test_a_request_naming_a_device_id_outside_the_alphabet_is_401_unknown_device(
        collector_server, device_id):
    key = Ed25519PrivateKey.generate()
    path = "/v1/heartbeat"
    body = json.dumps(heartbeat(device_id=device_id)).encode()
    headers = devicesig.sign_headers(key, "gate-test-0001", "POST", path, body, int(time.time()))
    headers["X-Gate-Device"] = device_id.encode("utf-8").decode("latin-1")
    headers["Content-Type"] = "application/json"
    answer = collector_server.session.post(collector_server.url + path, data=body,
                                           headers=headers, timeout=10)
    if answer.status_code == 400:  # a control character: the HTTP server refuses the header
        assert device_id.isprintable() is False and "gate-collector" in answer.headers["Server"]
    else:
        assert (answer.status_code, answer.json()) == (401, {"error": "unknown_device"})


def _at(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def test_scanned_at_outside_the_plausible_window_is_rejected(collector_factory, make_record,
                                                             request):
    now = time.time()
    collector = collector_factory(retention_days=30)
    day = 86400
    inside = [make_record(scanned_at=_at(now - 30 * day + 60)),
              make_record(scanned_at=_at(now + day - 60))]
    outside = [make_record(scanned_at=_at(now - 30 * day - 60)),
               make_record(scanned_at=_at(now + day + 60)),
               make_record(scanned_at="9999-12-31T23:59:59.999Z"),
               make_record(scanned_at="0001-01-01T00:00:00.000Z")]
    answer = collector.upload(inside + outside).json()
    assert answer["accepted"] == [r["id"] for r in inside]
    assert answer["rejected"] == [{"id": r["id"], "error": "bad_scanned_at"} for r in outside]


def test_one_batch_naming_2000_months_makes_no_partition(collector_factory, make_record,
                                                        postgres_db_url):
    from gate.collector import partitions

    collector = collector_factory(postgres_db_url)
    before = partitions.existing(collector.app.alias)
    months = [f"{2030 + i // 12:04d}-{i % 12 + 1:02d}-15T00:00:00.000Z" for i in range(1000)]
    months += [f"{1000 + i // 12:04d}-{i % 12 + 1:02d}-15T00:00:00.000Z" for i in range(1000)]
    flood = [make_record(scanned_at=t) for t in months]
    answer = collector.upload(flood)
    assert answer.status_code == 200
    assert [r["error"] for r in answer.json()["rejected"]] == ["bad_scanned_at"] * 2000
    assert partitions.existing(collector.app.alias) == before
    assert len(before) <= 2  # this month and the next (on a month's last day)
    with collector.app.activate():
        assert collector.db.count_records() == 0
    # the alerts page still answers
    assert collector.upload([make_record()]).json()["accepted"]


# --- a heartbeat is kept only when its signed time is newer ----------------------------------

def test_a_replayed_older_heartbeat_is_answered_200_and_not_stored(any_collector):
    now = int(time.time())
    newer = heartbeat(queue_depth=1)
    assert any_collector.post_json("/v1/heartbeat", newer, timestamp=now).status_code == 200
    for stale in (now - 5, now):  # an older one, and one signed in the same second
        answer = any_collector.post_json("/v1/heartbeat", heartbeat(queue_depth=99),
                                         timestamp=stale)
        assert answer.status_code == 200 and answer.json()["ok"] is True
    assert any_collector.latest_heartbeat()[1] == newer
    with any_collector.app.activate():
        assert Heartbeat.objects.get().signed_at == now
    later = heartbeat(queue_depth=2)
    assert any_collector.post_json("/v1/heartbeat", later, timestamp=now + 1).status_code == 200
    assert any_collector.latest_heartbeat()[1] == later


def test_text_longer_than_its_column_is_rejected_not_a_500(any_collector, make_record):
    long_issuer = make_record()
    long_issuer["code"] = dict(long_issuer["code"], issuer="I" * 5000)
    long_type = make_record(venue_type="t" * 5000, temperature_c=10 ** 400)
    answer = any_collector.upload([long_issuer, long_type])
    assert answer.status_code == 200
    assert answer.json()["rejected"] == [{"id": long_issuer["id"], "error": "too_long:issuer"},
                                         {"id": long_type["id"], "error": "bad_type:temperature_c"}]
