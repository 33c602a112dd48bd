"""The heartbeat's faults are the whole gate's: the running kiosk's when it answers, else worked out
as the kiosk would, and sync's own either way."""

from __future__ import annotations

import json
import time

from gate.control import KioskClient
from gate.faults import FAULTS
from gate.state.paths import state_paths
from gate.store.connection import FAULT_META
from gate.state.faults_now import GateFaults
from gate.state.syncmeta import META_PROBLEM


def test_with_a_kiosk_running_its_faults_are_reported_with_syncs_own(kiosk, gate, tmp_path):
    kiosk.kiosk.set_fault("camera_lost", "camera lost: test unplugged it")
    provider = GateFaults(gate.store, gate.trust, kiosk=KioskClient(tmp_path / "run"),
                          device_key_path=tmp_path / "no-such.key")
    gate.store.meta_set(META_PROBLEM, {"status": 401, "error": "unknown_device"})
    codes = provider()
    assert provider.source == "kiosk"
    assert {"camera_lost", "device_key_missing", "upload_refused"} <= set(codes)
    assert set(kiosk.kiosk.current_faults()) <= set(codes)
    # the sync's own trust state (no lists fetched yet) is not mixed in: the kiosk's lists are the gate's
    assert "trust_list_missing" not in codes and set(codes) <= set(FAULTS)


def test_a_real_round_reports_the_running_kiosks_faults(kiosk, gate, collector_factory, tmp_path):
    collector = collector_factory()
    kiosk.kiosk.set_fault("thermometer_failing", "thermometer: no reading")
    gate.syncer(collector.url, kiosk=KioskClient(tmp_path / "run")).round()
    assert "thermometer_failing" in collector.latest_heartbeat()[1]["faults"]


def test_with_no_kiosk_the_faults_are_worked_out_from_the_lists_clock_and_store(gate, tmp_path):
    provider = GateFaults(gate.store, gate.trust, kiosk=KioskClient(tmp_path / "run"),
                          floor_path=state_paths(gate.store.path)[1])
    assert provider() == ["kiosk_not_running", "status_list_missing", "trust_list_missing"]
    assert provider.source == "computed"
    state_paths(gate.store.path)[1].write_text(json.dumps({"floor": time.time() + 86400}))
    gate.store.meta_set(FAULT_META + "store_corrupt", {"recovered": 3, "moved_to": "scans.db.corrupt"})
    assert provider() == ["clock_untrusted", "kiosk_not_running", "status_list_missing", "store_corrupt",
                          "trust_list_missing"]


def test_a_kiosk_that_left_a_stale_control_file_counts_as_not_running(gate, tmp_path):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "control.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "token": "x", "pid": 1}))
    provider = GateFaults(gate.store, None, kiosk=KioskClient(run, timeout_s=2.0))
    assert provider() == ["kiosk_not_running", "status_list_missing", "trust_list_missing"]
    assert provider.source == "computed"


def test_a_round_without_a_kiosk_sends_the_computed_faults(gate, collector_factory):
    collector = collector_factory()
    gate.syncer(collector.url).round()
    beat = collector.latest_heartbeat()[1]
    # no kiosk answers: the gate is shut; the test lists were issued in 2025
    assert beat["faults"] == ["kiosk_not_running", "status_list_stale", "trust_list_stale"]


def test_without_a_kiosk_to_ask_nothing_is_said_of_one(gate):
    provider = GateFaults(gate.store, gate.trust, kiosk=None)
    assert "kiosk_not_running" not in provider()
