"""The collector over real HTTP on loopback: uploads, authentication, lists, alerts, pages."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector import MAX_BODY_BYTES, MAX_RECORDS


# --- storing records exactly once (SQLite and PostgreSQL) -----------------------------------

def test_a_new_batch_is_accepted_and_stored(any_collector, make_record):
    records = [make_record() for _ in range(50)]
    answer = any_collector.upload(records)
    assert answer.status_code == 200
    assert answer.json() == {"accepted": [r["id"] for r in records], "duplicates": [],
                             "rejected": []}
    assert any_collector.db.count_records() == 50
    stored = any_collector.db.record(records[3]["id"])
    assert stored == records[3]


def test_a_repeated_batch_is_reported_duplicate_and_stored_once(any_collector, make_record):
    records = [make_record() for _ in range(20)]
    any_collector.upload(records)
    again = any_collector.upload(records)
    assert again.json() == {"accepted": [], "duplicates": [r["id"] for r in records],
                            "rejected": []}
    assert any_collector.db.count_records() == 20


def test_an_overlapping_batch_splits_into_new_and_duplicate(any_collector, make_record):
    old = [make_record() for _ in range(5)]
    new = [make_record() for _ in range(5)]
    any_collector.upload(old)
    answer = any_collector.upload(old[2:] + new).json()
    assert answer["accepted"] == [r["id"] for r in new]
    assert answer["duplicates"] == [r["id"] for r in old[2:]]
    assert any_collector.db.count_records() == 10


def test_an_id_sent_twice_in_one_batch_is_answered_once(any_collector, make_record):
    record = make_record()
    answer = any_collector.upload([record, dict(record)]).json()
    assert answer == {"accepted": [record["id"]], "duplicates": [], "rejected": []}


def test_concurrent_uploads_of_the_same_records_store_each_once(any_collector, make_record):
    records = [make_record() for _ in range(200)]

    def send(_: int) -> dict:
        return any_collector.upload(records).json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    accepted = [i for a in answers for i in a["accepted"]]
    assert sorted(accepted) == sorted(r["id"] for r in records)
    assert any_collector.db.count_records() == 200


def test_invalid_records_are_rejected_and_the_rest_stored(any_collector, make_record):
    good = make_record()
    bad_id = make_record(id="not-a-uuid")
    no_venue = make_record()
    del no_venue["venue_id"]
    bad_decision = make_record(decision="open")
    other_gate = make_record(device_id="gate-other")
    answer = any_collector.upload([good, bad_id, no_venue, bad_decision, other_gate, 42]).json()
    assert answer["accepted"] == [good["id"]]
    assert answer["duplicates"] == []
    assert answer["rejected"] == [
        {"id": "not-a-uuid", "error": "bad_id"},
        {"id": no_venue["id"], "error": "missing_field:venue_id"},
        {"id": bad_decision["id"], "error": "bad_decision"},
        {"id": other_gate["id"], "error": "device_mismatch"},
        {"id": None, "error": "not_an_object"},
    ]
    assert any_collector.db.count_records() == 1


def test_a_gzip_body_is_accepted(collector_server, make_record):
    records = [make_record() for _ in range(100)]
    body = json.dumps({"batch_id": str(uuid.uuid4()), "records": records}).encode()
    answer = collector_server.request("POST", "/v1/scans", body, gzip=True)
    assert answer.status_code == 200
    assert len(answer.json()["accepted"]) == 100


def test_a_batch_over_the_record_limit_is_413(collector_server, make_record):
    record = make_record()
    answer = collector_server.upload([dict(record, id=str(uuid.uuid4()))
                                      for _ in range(MAX_RECORDS + 1)], gzip=True)
    assert answer.status_code == 413
    assert answer.json() == {"error": "too_large", "max_records": MAX_RECORDS,
                             "max_bytes": MAX_BODY_BYTES}
    assert collector_server.db.count_records() == 0


def test_a_body_over_the_byte_limit_is_413(collector_server):
    answer = collector_server.request("POST", "/v1/scans", b" " * (MAX_BODY_BYTES + 1))
    assert answer.status_code == 413


def test_a_gzip_bomb_is_413_without_inflating_it(collector_server):
    bomb = b'{"records": [' + b" " * (2 * MAX_BODY_BYTES) + b"]}"
    answer = collector_server.request("POST", "/v1/scans", bomb, gzip=True)
    assert answer.status_code == 413


@pytest.mark.parametrize("body, error", [
    (b"{not json", "bad_json"),
    (b'{"batch_id": "x", "records": [{"id": "x", "extra": Infinity}]}', "bad_json"),
    (b'{"batch_id": "x", "records": [{"id": "x", "extra": 1e999}]}', "bad_json"),  # not finite: like Infinity
    (b'{"batch_id": "x"}', "bad_batch"),
    (b"[1, 2]", "bad_batch"),
])
def test_a_malformed_batch_is_400(collector_server, body, error):
    answer = collector_server.request("POST", "/v1/scans", body)
    assert answer.status_code == 400
    assert answer.json() == {"error": error}


def test_a_corrupt_gzip_body_is_400(collector_server):
    answer = collector_server.request("POST", "/v1/scans", b"\x1f\x8b garbage",
                                      headers={"Content-Encoding": "gzip"})
    assert (answer.status_code, answer.json()) == (400, {"error": "bad_gzip"})


# --- authentication -----------------------------------------------------------------------

def test_an_unknown_device_is_401(collector_server, make_record):
    answer = collector_server.upload([make_record()], device_id="gate-nobody",
                                     key=Ed25519PrivateKey.generate())
    assert (answer.status_code, answer.json()) == (401, {"error": "unknown_device"})


def test_a_request_without_signature_headers_is_401(collector_server):
    answer = collector_server.session.get(collector_server.url + "/v1/trustlist")
    assert (answer.status_code, answer.json()) == (401, {"error": "unknown_device"})


def test_a_signature_by_another_key_is_401(collector_server, make_record):
    answer = collector_server.upload([make_record()], key=Ed25519PrivateKey.generate())
    assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})
    assert collector_server.db.count_records() == 0


def test_a_body_changed_after_signing_is_401(collector_server, make_record):
    body = json.dumps({"records": [make_record()]}).encode()
    headers = devicesig.sign_headers(collector_server.device_key, collector_server.device_id,
                                     "POST", "/v1/scans", body, int(time.time()))
    answer = collector_server.session.post(collector_server.url + "/v1/scans",
                                           data=body.replace(b"allow", b"deny "),
                                           headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})


def test_a_signature_over_another_query_is_401(collector_server):
    headers = devicesig.sign_headers(collector_server.device_key, collector_server.device_id,
                                     "GET", "/v1/statuslist?since=1", b"", int(time.time()))
    answer = collector_server.session.get(collector_server.url + "/v1/statuslist?since=1040",
                                          headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})


def test_a_skewed_clock_is_401_with_the_server_time(collector_factory):
    collector = collector_factory(clock=lambda: 1_800_000_000.0)
    answer = collector.request("GET", "/v1/trustlist", timestamp=1_800_000_000 - 601)
    assert answer.status_code == 401
    assert answer.json() == {"error": "clock", "server_time": 1_800_000_000}
    within = collector.request("GET", "/v1/trustlist", timestamp=1_800_000_000 + 600)
    assert within.status_code == 200


def test_a_disabled_device_is_403(collector_server, make_record):
    collector_server.db.set_device_enabled(collector_server.device_id, False)
    answer = collector_server.upload([make_record()])
    assert (answer.status_code, answer.json()) == (403, {"error": "device_disabled"})


# --- lists --------------------------------------------------------------------------------

def _verifies(anchor_key: Ed25519PrivateKey, answer) -> bool:
    import base64

    anchor_key.public_key().verify(base64.b64decode(answer.headers["X-Signature"]),
                                   answer.content)
    return True


def test_the_trust_list_is_served_with_its_signature(collector_server, anchor_key, lists_dir):
    answer = collector_server.request("GET", "/v1/trustlist")
    assert answer.status_code == 200
    assert answer.content == (lists_dir / "trustlist.json").read_bytes()
    assert _verifies(anchor_key, answer)


def test_an_unchanged_trust_list_is_304_for_its_etag(collector_server):
    first = collector_server.request("GET", "/v1/trustlist")
    again = collector_server.request("GET", "/v1/trustlist",
                                     headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_missing_trust_list_is_404(collector_server, lists_dir):
    (lists_dir / "trustlist.json.sig").unlink()
    answer = collector_server.request("GET", "/v1/trustlist")
    assert (answer.status_code, answer.json()) == (404, {"error": "no_trustlist"})


@pytest.mark.parametrize("query, version", [
    ("", 1040),                 # no version yet: the full list
    ("?since=0", 1040),
    ("?since=1040", 1043),      # a delta from exactly that base
    ("?since=1000", 1040),      # no delta from 1000: the full list
])
def test_the_status_list_is_a_delta_or_the_full_list(collector_server, anchor_key, query,
                                                      version):
    answer = collector_server.request("GET", "/v1/statuslist" + query)
    assert answer.status_code == 200
    assert json.loads(answer.content)["version"] == version
    assert _verifies(anchor_key, answer)


@pytest.mark.parametrize("since", [1043, 1050])
def test_the_status_list_is_304_when_nothing_is_newer(collector_server, since):
    answer = collector_server.request("GET", f"/v1/statuslist?since={since}")
    assert answer.status_code == 304
    assert answer.content == b""


def test_a_newer_full_list_wins_over_an_older_delta(collector_server, sign_list, lists_dir):
    sign_list(lists_dir / "statuslist.json",
              {"version": 1050, "base_version": 0, "issued_at": 1764010000, "entries": []})
    answer = collector_server.request("GET", "/v1/statuslist?since=1040")
    assert json.loads(answer.content)["version"] == 1050


def test_a_bad_since_is_400(collector_server):
    answer = collector_server.request("GET", "/v1/statuslist?since=soon")
    assert (answer.status_code, answer.json()) == (400, {"error": "bad_query"})


# --- alerts -------------------------------------------------------------------------------

def test_an_alert_is_stored_logged_and_paged_once(collector_factory, tmp_path, make_record,
                                                   webhook_recorder):
    log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=log, webhook_url=webhook_recorder.url)
    record = make_record(decision="hold", decision_reasons=["red"])
    first = collector.post_json("/v1/alerts", record)
    assert first.json() == {"accepted": [record["id"]], "duplicates": [], "rejected": []}
    again = collector.post_json("/v1/alerts", record)
    assert again.json() == {"accepted": [], "duplicates": [record["id"]], "rejected": []}
    in_batch = collector.upload([record])
    assert in_batch.json()["duplicates"] == [record["id"]]

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["record"] for line in lines] == [record]
    assert lines[0]["device_id"] == collector.device_id
    events = webhook_recorder.wait_for(1)
    assert [e["record"]["id"] for e in events] == [record["id"]]
    assert collector.db.count_records() == 1


def test_an_alert_after_its_batch_is_still_logged(collector_factory, tmp_path, make_record):
    log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=log)
    record = make_record(decision="refer")
    collector.upload([record])
    answer = collector.post_json("/v1/alerts", record, gzip=True)
    assert answer.json()["duplicates"] == [record["id"]]
    assert len(log.read_text().splitlines()) == 1


def test_a_broken_webhook_never_breaks_the_upload(collector_factory, tmp_path, make_record):
    collector = collector_factory(alert_log=tmp_path / "a.jsonl",
                                  webhook_url="http://127.0.0.1:9/nowhere")
    record = make_record(decision="hold")
    answer = collector.post_json("/v1/alerts", record)
    assert answer.json()["accepted"] == [record["id"]]


def test_an_invalid_alert_is_rejected(collector_server, make_record):
    record = make_record(clock_trusted="yes")
    answer = collector_server.post_json("/v1/alerts", record)
    assert answer.json() == {"accepted": [], "duplicates": [],
                             "rejected": [{"id": record["id"], "error": "bad_type:clock_trusted"}]}


def test_alerts_as_one_batch_are_each_stored_logged_and_paged_once(any_collector, make_record):
    alerts = [make_record(decision="hold"), make_record(decision="refer"), make_record(clock_trusted="x")]
    body = {"batch_id": str(uuid.uuid4()), "records": alerts}
    first = any_collector.post_json("/v1/alerts", body, gzip=True)
    assert first.json() == {"accepted": [alerts[0]["id"], alerts[1]["id"]], "duplicates": [],
                            "rejected": [{"id": alerts[2]["id"], "error": "bad_type:clock_trusted"}]}
    again = any_collector.post_json("/v1/alerts", {"batch_id": "b2", "records": alerts[:2]})
    assert again.json()["duplicates"] == [alerts[0]["id"], alerts[1]["id"]]
    assert any_collector.upload(alerts[:2]).json()["duplicates"] == [alerts[0]["id"], alerts[1]["id"]]
    assert any_collector.stored_count() == 2
    assert any_collector.alert_ids() == {alerts[0]["id"], alerts[1]["id"]}


def test_an_alert_batch_whose_records_are_not_a_list_is_refused(collector_server):
    answer = collector_server.post_json("/v1/alerts", {"batch_id": "b", "records": "all"})
    assert (answer.status_code, answer.json()) == (400, {"error": "bad_batch"})


# --- heartbeats -----------------------------------------------------------------------------

def test_the_latest_heartbeat_of_each_device_is_kept_with_its_arrival_time(any_collector):
    beat = {"device_id": any_collector.device_id, "queue_depth": 12, "faults": ["clock_untrusted"]}
    first = any_collector.post_json("/v1/heartbeat", beat, gzip=True,
                                    timestamp=int(time.time()) - 1)
    assert first.status_code == 200
    assert first.json()["ok"] is True and abs(first.json()["server_time"] - time.time()) < 60
    newer = dict(beat, queue_depth=0, faults=[])
    assert any_collector.post_json("/v1/heartbeat", newer).status_code == 200
    arrived_at, kept = any_collector.latest_heartbeat()
    assert kept == newer and abs(arrived_at - time.time()) < 60


@pytest.mark.parametrize("who", ["unknown", "disabled", "bad_signature"])
def test_a_heartbeat_from_a_device_that_may_not_upload_is_refused(collector_server, who):
    beat = {"device_id": collector_server.device_id, "queue_depth": 0}
    if who == "disabled":
        collector_server.disable_device()
        answer = collector_server.post_json("/v1/heartbeat", beat)
        assert (answer.status_code, answer.json()["error"]) == (403, "device_disabled")
    elif who == "unknown":
        answer = collector_server.post_json("/v1/heartbeat", dict(beat, device_id="gate-x"),
                                            device_id="gate-x")
        assert (answer.status_code, answer.json()["error"]) == (401, "unknown_device")
    else:
        answer = collector_server.post_json("/v1/heartbeat", beat, key=Ed25519PrivateKey.generate())
        assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
    assert collector_server.latest_heartbeat() is None


@pytest.mark.parametrize("body,reason", [([1, 2], "not an object"),
                                         ({"device_id": "gate-other"}, "device_id is not the signing device")])
def test_a_heartbeat_that_is_not_this_devices_object_is_refused(collector_server, body, reason):
    answer = collector_server.post_json("/v1/heartbeat", body)
    assert (answer.status_code, answer.json()) == (400, {"error": "bad_heartbeat", "reason": reason})
    assert collector_server.latest_heartbeat() is None


# --- pages for people -----------------------------------------------------------------------

def test_the_old_status_page_now_leads_to_the_console_which_needs_a_sign_in(collector_server):
    for path in ("/", "/status"):
        answer = collector_server.session.get(collector_server.url + path, allow_redirects=False)
        assert (answer.status_code, answer.headers["Location"]) == (302, "/console/")


def test_healthz_answers_ok(collector_server):
    answer = collector_server.session.get(collector_server.url + "/healthz")
    assert (answer.status_code, answer.json()) == (200, {"ok": True})


def test_unknown_paths_and_methods_are_refused(collector_server):
    assert collector_server.session.get(collector_server.url + "/v2/x").status_code == 404
    wrong = collector_server.session.get(collector_server.url + "/v1/scans")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"


def test_the_server_restarts_on_the_same_port(collector_server, make_record):
    port = collector_server.server.port
    collector_server.server.stop()
    collector_server.server.start()
    assert collector_server.server.port == port
    assert collector_server.upload([make_record()]).status_code == 200


def test_two_collectors_sharing_one_postgresql_store_each_id_once(collector_factory,
                                                                  postgres_db_url, make_record):
    first = collector_factory(postgres_db_url)
    second = collector_factory(postgres_db_url)
    records = [make_record() for _ in range(300)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.upload(records).json(), [first, second]))
    accepted = answers[0]["accepted"] + answers[1]["accepted"]
    assert sorted(accepted) == sorted(r["id"] for r in records)
    assert first.db.count_records() == 300


def test_a_timestamp_that_is_not_a_number_is_401(collector_server):
    headers = devicesig.sign_headers(collector_server.device_key, collector_server.device_id,
                                     "GET", "/v1/trustlist", b"", int(time.time()))
    headers["X-Gate-Timestamp"] = "soon"
    answer = collector_server.session.get(collector_server.url + "/v1/trustlist",
                                          headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})


def test_answers_carry_their_length_and_head_has_no_body(collector_server):
    got = collector_server.session.get(collector_server.url + "/healthz")
    assert got.headers["Content-Length"] == str(len(got.content))
    head = collector_server.session.head(collector_server.url + "/healthz")
    assert (head.status_code, head.content) == (200, b"")
    not_modified = collector_server.request("GET", "/v1/statuslist?since=1043")
    assert not_modified.status_code == 304 and not_modified.content == b""
