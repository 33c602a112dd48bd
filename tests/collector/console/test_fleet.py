"""The fleet page: every registered gate with its latest heartbeat, silent gates first."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector import devices
from gate.collector.console.fleet import gate_rows
from tests.collector.console.conftest import ago


def heartbeat(device_id: str, **fields: Any) -> dict[str, Any]:
    beat = {"device_id": device_id, "sent_at": ago(0), "software_version": "0.2.0",
            "venue_id": "360102-012-north-gate", "venue_type": "residential",
            "config_sha256": "9f2c", "queue_depth": 0, "oldest_pending_at": None,
            "rejected_count": 0, "trust_list_version": 7, "status_list_version": 1043,
            "bulletin_version": 0, "clock_trusted": True, "faults": [],
            "last_scan_at": ago(1), "uptime_s": 86400}
    beat.update(fields)
    return beat


class Fleet:
    """A collector whose clock the test moves, and gates that send heartbeats to it."""

    def __init__(self, collector_factory) -> None:
        self.now = time.time()
        self.collector = collector_factory(clock=lambda: self.now)
        self.keys: dict[str, Ed25519PrivateKey] = {}

    def gate(self, device_id: str) -> None:
        key = Ed25519PrivateKey.generate()
        with self.collector.app.activate():
            devices.add_device(device_id, devicesig.public_key_b64(key.public_key()))
        self.keys[device_id] = key

    def beat(self, device_id: str, minutes_ago: float = 0.0, **fields: Any) -> None:
        saved = self.now
        self.now = time.time() - minutes_ago * 60
        try:
            answer = self.collector.request(
                "POST", "/v1/heartbeat", json.dumps(heartbeat(device_id, **fields)).encode(),
                key=self.keys[device_id], device_id=device_id, timestamp=int(self.now))
            assert answer.status_code == 200, answer.text
        finally:
            self.now = saved


def order(page: str) -> list[str]:
    return re.findall(r'<tr data-device="([^"]+)"', page)


def test_every_gate_shows_its_latest_heartbeat(collector_factory, client_as):
    fleet = Fleet(collector_factory)
    fleet.gate("g-a")
    fleet.beat("g-a", queue_depth=12, oldest_pending_at="2026-11-30T01:02:03.000Z",
               software_version="0.3.1", venue_id="360102-east", venue_type="metro", bulletin_version=4)
    with fleet.collector.app.activate():
        page = client_as("viewer").get("/console/fleet").content.decode()
    row = page[page.index('data-device="g-a"'):]
    row = row[:row.index("</tr>")]
    for words in ("在线", "360102-east", "地铁", ">12<", "2026-11-30 09:02", "0.3.1", "信任 7", "状态 1043",
                  '<td class="num bulletin wide">4</td>'):
        assert words in row, words


def test_silent_gates_come_first_longest_silent_first_then_gates_with_faults(collector_factory,
                                                                             client_as):
    fleet = Fleet(collector_factory)
    for name in ("a-fine", "b-faulty", "c-silent-long", "d-silent", "e-never"):
        fleet.gate(name)
    fleet.beat("a-fine")
    fleet.beat("b-faulty", faults=["camera_lost"])
    fleet.beat("c-silent-long", minutes_ago=120)
    fleet.beat("d-silent", minutes_ago=11)
    with fleet.collector.app.activate():
        page = client_as("viewer").get("/console/fleet").content.decode()
        # gate-test-0001 (the fixture's) never sent one either
        assert order(page) == ["e-never", "gate-test-0001", "c-silent-long", "d-silent",
                               "b-faulty", "a-fine"]
        rows = {r.device_id: r for r in gate_rows()}
    assert not rows["d-silent"].online and rows["a-fine"].online


def test_a_heartbeat_at_nine_minutes_is_online(collector_factory):
    fleet = Fleet(collector_factory)
    fleet.gate("g")
    fleet.beat("g", minutes_ago=9)
    with fleet.collector.app.activate():
        assert {r.device_id: r.online for r in gate_rows()}["g"] is True


def test_faults_are_shown_with_the_words_of_the_fault_vocabulary(collector_factory, client_as):
    fleet = Fleet(collector_factory)
    fleet.gate("g")
    fleet.beat("g", faults=["camera_lost", "status_list_missing"])
    with fleet.collector.app.activate():
        client = client_as("viewer")
        chinese = client.get("/console/fleet").content.decode()
        client.post("/console/i18n/setlang/", {"language": "en"})
        english = client.get("/console/fleet").content.decode()
    assert "摄像头断开，正在重连" in chinese and "无状态列表，由值守人员判断" in chinese
    assert "Camera lost: reconnecting" in english


def test_lists_behind_what_this_collector_serves_are_marked(collector_factory, client_as):
    # the collector serves trust list 7 and status list 1043 (tests/collectorkit.py lists_dir)
    fleet = Fleet(collector_factory)
    for name in ("current", "old", "liar"):
        fleet.gate(name)
    fleet.beat("current", trust_list_version=7, status_list_version=1043)
    fleet.beat("old", trust_list_version=6, status_list_version=1043)
    fleet.beat("liar", trust_list_version=999999, status_list_version=999999)
    with fleet.collector.app.activate():
        rows = {r.device_id: r for r in gate_rows()}
        client = client_as("viewer")
        behind = client.get("/console/fleet?state=behind").content.decode()
        shown = client.get("/console/fleet").content.decode()
    assert rows["old"].trust_behind and not rows["old"].status_behind
    assert not rows["current"].trust_behind and not rows["current"].status_behind
    assert not rows["liar"].trust_behind  # one gate's claim marks nobody else as behind
    assert order(behind) == ["old"]
    assert "本汇集服务器下发 · 信任列表 7 · 状态列表 1043" in shown and "None" not in shown


def test_filters_by_state(collector_factory, client_as):
    fleet = Fleet(collector_factory)
    fleet.gate("busy")
    fleet.gate("quiet")
    fleet.beat("busy", queue_depth=5, faults=["thermometer_failing"])
    fleet.beat("quiet", minutes_ago=30)
    with fleet.collector.app.activate():
        devices.set_enabled("quiet", False)
        client = client_as("viewer")
        shown = {state: order(client.get(f"/console/fleet?state={state}").content.decode())
                 for state in ("offline", "online", "faults", "backlog", "disabled")}
        nonsense = client.get("/console/fleet?state=nonsense")
    assert shown["offline"] == ["gate-test-0001", "quiet"]
    assert shown["online"] == ["busy"]
    assert shown["faults"] == shown["backlog"] == ["busy"]
    assert shown["disabled"] == ["quiet"]
    assert nonsense.status_code == 400 and 'id="refusal"' in nonsense.content.decode()


def test_a_fault_code_the_console_does_not_know_is_shown_as_it_came():
    from gate.collector.console.fleet import fault_text

    assert fault_text("camera_lost").zh == "摄像头断开，正在重连"
    unknown = fault_text("lidar_dirty")  # a newer gate's fault
    assert (unknown.zh, unknown.en) == ("lidar_dirty", "lidar_dirty")


def test_each_gate_counts_its_scans_and_alerts_of_the_last_day(console, client_as):
    from tests.collector.console.conftest import alert, scan, upload

    upload(console, [scan(minutes_ago=10), scan(minutes_ago=100), scan(minutes_ago=25 * 60)])
    alert(console, scan(status="red", decision="hold", reasons=["code_valid", "red"]))
    rows = {r.device_id: r for r in gate_rows()}
    assert (rows["gate-test-0001"].scans_24h, rows["gate-test-0001"].alerts_24h) == (3, 1)
    page = client_as("viewer").get("/console/fleet").content.decode()
    assert '<td class="num counts">3 <span class="bad">/ 1</span></td>' in page


def test_the_fleet_fits_a_768_pixel_screen_without_breaking_ids(collector_factory, browser_page):
    from gate.collector import users
    from tests.collector.console.officekit import sign_in

    fleet = Fleet(collector_factory)
    names = ["gate-nanchang-honggutan-0001", "gate-nanchang-honggutan-0002", "gate-nc-0003"]
    for name in names:
        fleet.gate(name)
    fleet.beat(names[0], venue_id="360102-012-honggutan-north-gate", queue_depth=212,
               faults=["camera_lost", "status_list_stale"], trust_list_version=6)
    fleet.beat(names[1], venue_id="360102-metro-line1-bayi-square", venue_type="metro")
    with fleet.collector.app.activate():
        users.add_user("duty", "viewer", "a long enough pass phrase")
    page = sign_in(browser_page, fleet.collector.url, "duty", width=768, height=1000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    table = page.locator("#fleet")
    assert page.evaluate("document.querySelector('.fleet-wrap').scrollWidth <= "
                         "document.querySelector('.fleet-wrap').clientWidth")
    for name in names:  # each id on one line: never broken inside
        cell = table.locator(f'tr[data-device="{name}"] td.id').first
        assert cell.is_visible()
        lines = page.evaluate("""(cell) => { const r = document.createRange();
            r.selectNodeContents(cell.firstChild); return new Set([...r.getClientRects()].map(x => x.top)).size; }""",
                              cell.element_handle())
        assert lines == 1, name
    assert "地铁" in table.inner_text() and "摄像头断开" in table.inner_text()


def test_ten_thousand_gates_come_in_pages_of_fifty_silent_first(collector_factory, client_as):
    from gate.collector.models import Device, Heartbeat
    from django.utils import timezone
    from datetime import timedelta

    fleet = Fleet(collector_factory)
    with fleet.collector.app.activate():
        now = timezone.now()
        Device.objects.bulk_create([Device(device_id=f"g-{n:05d}", public_key=f"k{n}")
                                    for n in range(10_000)], batch_size=2000)
        Heartbeat.objects.bulk_create(
            [Heartbeat(device_id=f"g-{n:05d}", received_at=now - timedelta(hours=3 if n % 1000 == 7 else 0),
                       data={"venue_id": f"v-{n % 50}", "queue_depth": n % 3, "faults": []})
             for n in range(10_000)], batch_size=2000)
        client = client_as("viewer")
        first = client.get("/console/fleet").content.decode()
        rows = order(first)
        assert len(rows) == 50 and rows[0] == "gate-test-0001"  # never heard from: first
        assert rows[1:11] == [f"g-{n:05d}" for n in range(7, 10_000, 1000)]  # then the silent ones
        assert "第 1 页，共 201 页（10001 台闸机）" in first
        last = client.get("/console/fleet?page=99999999999999999999999").content.decode()
        assert "第 201 页，共 201 页" in last and len(order(last)) == 1
        search = order(client.get("/console/fleet?q=g-0999&sort=-id").content.decode())
        assert search == [f"g-0999{n}" for n in range(9, -1, -1)]
        backlog = client.get("/console/fleet?state=backlog&sort=queue").content.decode()
        assert "（6666 台闸机）" in backlog
