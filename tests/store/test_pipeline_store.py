"""gate/pipeline.py's store wiring: the idle tick finds a damaged store and the gate carries on
with the fresh one; a store that could not be opened is retried and its fault shown."""

from __future__ import annotations

import os
from pathlib import Path

import gate.store.holder
import gate.store.connection
from gate.hardware.thermometer import Reading
from tests.pki import NOW
from tests.store.storekit import scramble
from tests.store.test_damaged_card import pipeline_at


def test_the_idle_tick_finds_a_damaged_store_moves_it_aside_and_the_gate_goes_on(pki, tmp_path, monkeypatch):
    path = tmp_path / "state" / "scans.db"
    pipeline = pipeline_at(pki, path)
    try:
        allowed = [pipeline.scan(pki.code("green", subject=f"p{i}"), Reading(36.5), at=NOW).record.id
                   for i in range(200)]
        assert pipeline.store_idle() == []
        pipeline.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        scramble(path, first_page=path.stat().st_size // 1024 // 2, pages=8)
        monkeypatch.setattr(gate.store.connection, "IDLE_CHECK_EVERY_S", 0.0)
        assert pipeline.store_idle() == ["store_corrupt"]
        assert len(list(path.parent.glob("scans.db.corrupt-*"))) == 1
        recovered = {r.id for r in pipeline.store.pending(1000)}
        assert len(recovered) >= 150 and recovered <= set(allowed)
        outcome = pipeline.scan(pki.code("green", subject="next"), Reading(36.5), at=NOW)
        assert (outcome.decision.decision, outcome.committed) == ("allow", True)
        assert pipeline.store_faults() == ["store_corrupt"]  # flagged until a technician clears it
    finally:
        pipeline.close()


def test_a_store_that_cannot_be_opened_names_its_fault_and_is_retried(pki, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    pipeline = pipeline_at(pki, blocker / "scans.db")
    try:
        assert pipeline.store is None and pipeline.store_faults() == ["store_unavailable"]
        outcome = pipeline.scan(pki.code("green"), Reading(36.5), at=NOW)
        assert (outcome.decision.decision, outcome.committed) == ("deny", False)
        blocker.unlink()
        monkeypatch.setattr(gate.store.holder, "STORE_RETRY_S", 0.0)
        assert pipeline.store_idle() == []  # the idle tick opened it
        outcome = pipeline.scan(pki.code("green", subject="bob"), Reading(36.5), at=NOW)
        assert (outcome.decision.decision, outcome.committed) == ("allow", True)
    finally:
        pipeline.close()


def test_a_store_file_removed_under_a_running_gate_is_reopened_as_store_missing(pki, tmp_path, monkeypatch):
    path = tmp_path / "state" / "scans.db"
    monkeypatch.setattr(gate.store.holder, "STORE_RETRY_S", 0.0)
    pipeline = pipeline_at(pki, path)
    try:
        pipeline.scan(pki.code("green"), Reading(36.5), at=NOW)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        outcome = pipeline.scan(pki.code("green", subject="bob"), Reading(36.5), at=NOW)
        assert not outcome.committed and outcome.decision.decision == "deny"  # never acknowledged
        outcome = pipeline.scan(pki.code("green", subject="carol"), Reading(36.5), at=NOW)
        assert outcome.committed and pipeline.store_faults() == ["store_missing"]
        assert os.path.exists(path)
    finally:
        pipeline.close()


def test_a_store_found_damaged_mid_scan_shuts_the_gate_until_it_is_reopened(pki, tmp_path):
    from gate.faults import gate_shut
    from gate.store import StoreUnavailable

    pipeline = pipeline_at(pki, tmp_path / "state" / "scans.db")
    try:
        pipeline.held.failed(StoreUnavailable("database disk image is malformed", "store_corrupt"))
        assert pipeline.store is None
        assert pipeline.store_faults() == ["store_corrupt", "store_unavailable"]
        assert gate_shut(pipeline.store_faults())
        outcome = pipeline.scan(pki.code("green"), Reading(36.5), at=NOW)
        assert (outcome.decision.decision, outcome.committed) == ("deny", False)
    finally:
        pipeline.close()
