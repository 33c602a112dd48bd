"""Alerts passed on to people (gate.collector.alerts): every urgent record a collector stores is
logged and paged exactly once, whether it came on /v1/alerts or only in an ordinary batch."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.collectorkit import new_record


def _logged(log: Path) -> list[str]:
    return [json.loads(line)["record"]["id"] for line in log.read_text().splitlines()]


def _red(**overrides):
    code = {**new_record()["code"], "status": "red"}
    return new_record(code=code, decision="hold", decision_reasons=["code_valid", "red"], **overrides)


def test_an_urgent_record_that_only_came_in_a_batch_is_logged_and_paged_once(
        collector_factory, tmp_path, webhook_recorder):
    log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=log, webhook_url=webhook_recorder.url)
    urgent = [_red(), new_record(decision="refer")]
    plain = new_record()
    answer = collector.upload([plain, *urgent]).json()
    assert sorted(answer["accepted"]) == sorted(r["id"] for r in [plain, *urgent])
    assert collector.alert_ids() == {r["id"] for r in urgent}
    assert _logged(log) == [r["id"] for r in urgent]
    assert sorted(e["record"]["id"] for e in webhook_recorder.wait_for(2)) == sorted(
        r["id"] for r in urgent)
    # the gate's alert request arrives late (its answer was lost, a retry): not paged again
    late = collector.post_json("/v1/alerts", {"batch_id": str(uuid.uuid4()), "records": urgent})
    assert sorted(late.json()["duplicates"]) == sorted(r["id"] for r in urgent)
    assert collector.upload(urgent).json()["duplicates"] == [r["id"] for r in urgent]
    assert _logged(log) == [r["id"] for r in urgent]
    assert len(webhook_recorder.events) == 2


def test_an_alert_first_and_its_batch_later_are_paged_once(collector_factory, tmp_path):
    log = tmp_path / "alerts.jsonl"
    collector = collector_factory(alert_log=log)
    record = _red()
    assert collector.post_json("/v1/alerts", record).json()["accepted"] == [record["id"]]
    assert collector.upload([record, new_record()]).json()["duplicates"] == [record["id"]]
    assert _logged(log) == [record["id"]] and collector.alert_ids() == {record["id"]}


def test_two_processes_told_of_the_same_urgent_record_page_it_once(any_collector):
    """Both paths at once for the same record, as a gate on a bad link may cause."""
    from concurrent.futures import ThreadPoolExecutor

    records = [_red() for _ in range(30)]

    def send(n: int):
        if n % 2:
            return any_collector.upload(records).json()
        return any_collector.post_json("/v1/alerts", {"batch_id": str(n), "records": records}).json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    accepted = [i for a in answers for i in a["accepted"]]
    assert sorted(accepted) == sorted(r["id"] for r in records)
    assert any_collector.alert_ids() == {r["id"] for r in records}
    assert any_collector.stored_count() == 30
