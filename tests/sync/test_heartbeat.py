"""The heartbeat: after every round, delivered or not, the gate's health reaches the collector."""

from __future__ import annotations

import hashlib
import json
import time

import gate as gate_package
from gate.state.paths import state_paths
from tests.synckit import make_records, proxy_for

UPLOAD_MD_KEYS = {
    "device_id", "sent_at", "software_version", "venue_id", "venue_type", "config_sha256",
    "queue_depth", "oldest_pending_at", "rejected_count", "trust_list_version",
    "status_list_version", "bulletin_version", "clock_trusted", "faults", "last_scan_at", "uptime_s",
}
PROJECT_KEYS = {"store_recovered"}  # added by this project (upload.md: new keys may be added)


def test_after_a_round_the_heartbeat_arrives_with_the_queue_as_the_round_left_it(
        collector_factory, gate, proxies, tmp_path):
    collector = collector_factory()
    config = tmp_path / "gate.toml"
    config.write_text("[device]\nid = 'gate-test-0001'\n")
    ids = gate.add(make_records(10))
    gate.add(make_records(1, start=1_795_000_100.0, venue_id="x\x00"))  # rejected by the collector
    proxy = proxy_for(proxies, collector, plan={3: "503"}, retry_after="30")
    result = gate.syncer(proxy.url, batch_size=4, config_path=config, uptime=lambda: 3600.5).round()
    assert result.stopped_by == "unavailable" and result.heartbeat_sent

    arrived_at, beat = collector.latest_heartbeat()
    assert set(beat) == UPLOAD_MD_KEYS | PROJECT_KEYS and beat["store_recovered"] == 0
    assert beat["queue_depth"] == 3 == gate.store.queue_depth()
    assert beat["oldest_pending_at"] == gate.store.get(ids[8]).scanned_at
    assert beat["last_scan_at"] == gate.store.last_scanned_at()
    assert beat["device_id"] == "gate-test-0001" and beat["venue_type"] == "residential"
    assert beat["software_version"] == gate_package.__version__
    assert beat["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert (beat["trust_list_version"], beat["status_list_version"], beat["bulletin_version"]) == (7, 1040, 0)
    assert beat["rejected_count"] == 0 and beat["uptime_s"] == 3600 and beat["clock_trusted"] is True
    # no kiosk runs: worked out as the kiosk would (the test lists were issued in 2025)
    assert beat["faults"] == ["kiosk_not_running", "status_list_stale", "trust_list_stale"]  # no kiosk runs here
    assert arrived_at > 0


def test_a_round_that_delivered_nothing_still_reports_in(collector_factory, gate, proxies):
    collector = collector_factory()
    gate.add(make_records(5))
    proxy = proxy_for(proxies, collector, plan={1: "cut", 2: "cut", 3: "cut"})
    result = gate.syncer(proxy.url).round()
    assert result.stopped_by == "network" and result.heartbeat_sent
    assert collector.latest_heartbeat()[1]["queue_depth"] == 5


def test_the_faults_come_from_the_provider_given(collector_factory, gate):
    collector = collector_factory()
    gate.syncer(collector.url, faults=lambda: ["camera_lost"]).round()
    assert collector.latest_heartbeat()[1]["faults"] == ["camera_lost"]


def test_a_clock_below_the_kiosks_time_floor_is_reported_untrusted(collector_factory, gate):
    collector = collector_factory()
    floor = state_paths(gate.store.path)[1]
    floor.write_text(json.dumps({"floor": time.time() + 86400}))  # the kiosk has seen tomorrow
    gate.syncer(collector.url).round()
    beat = collector.latest_heartbeat()[1]
    assert beat["clock_trusted"] is False and "clock_untrusted" in beat["faults"]


def test_config_sha256_is_of_the_files_bytes_as_the_setup_page_writes_them(kiosk, gate, collector_factory,
                                                                           tmp_path):
    from gate.control import KioskClient
    from gate.setup.edit import ConfigEditor

    collector = collector_factory()
    path = kiosk.config_path
    assert ConfigEditor(path, tmp_path / "changes.log").apply({"venue.type": "metro"}, "127.0.0.1").errors == []
    client = KioskClient(tmp_path / "run")
    assert client.reload()["ok"] is True
    gate.syncer(collector.url, config_path=path, kiosk=client).round()
    beat = collector.latest_heartbeat()[1]
    assert beat["config_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == client.status()["config_sha256"]


def test_a_store_recovered_from_damage_says_how_many_records_came_back(collector_factory, gate):
    from gate.store.connection import FAULT_META

    collector = collector_factory()
    gate.store.meta_set(FAULT_META + "store_corrupt", {"recovered": 85, "moved_to": "scans.db.corrupt-x"})
    gate.syncer(collector.url).round()
    beat = collector.latest_heartbeat()[1]
    assert beat["store_recovered"] == 85 and "store_corrupt" in beat["faults"]
