"""A failing SD card, for real: a read-only file system (a read-only bind mount), a full one (a
small tmpfs), the WAL kept small while thousands of scans are written, and kill -9 at random
moments. Through the pipeline where a person at the gate would see it: every scan that cannot be
stored is denied with store_unavailable, the fault names why, nothing unstored is acknowledged,
and the gate comes back by itself."""

from __future__ import annotations

import errno
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import gate.store.holder
from gate.config import Config, DeviceConfig, IOConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import open_pipeline
from gate.store import WAL_BOUND_BYTES, Store
from gate.store.errors import classify
from tests.pki import NOW
from tests.store.storekit import T0, make_record, mounted, remount, run


def pipeline_at(pki, store_path: Path):
    config = Config(
        device=DeviceConfig(id="gate-test-1"),
        venue=VenueConfig(id="360102-012-north", type="residential", community_codes=("360102-012",)),
        temperature=TemperatureConfig(sensor="simulated"),
        trust=TrustConfig(dir=pki.trust_dir),
        store=StoreConfig(path=store_path),
        io=IOConfig(),
    )
    return open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                         body_options={"timer": False})


def stored_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM records")}
    finally:
        conn.close()


@pytest.fixture
def retry_at_once(monkeypatch):
    monkeypatch.setattr(gate.store.holder, "STORE_RETRY_S", 0.0)


# --- read-only ---


def test_a_read_only_card_denies_every_scan_names_the_fault_and_comes_back(pki, tmp_path, retry_at_once):
    card = tmp_path / "card-files"
    card.mkdir()
    with Store(card / "scans.db") as s:
        s.commit(make_record())
    with mounted(tmp_path / "card", "--bind", str(card)) as mount:
        remount(mount, "bind,ro")
        pipeline = pipeline_at(pki, mount / "scans.db")
        try:
            for i in range(3):
                outcome = pipeline.scan(pki.code("green", subject=f"p{i}"), Reading(36.5), at=NOW)
                assert outcome.decision.decision == "deny"
                assert outcome.decision.reasons[-1] == "store_unavailable"
                assert not outcome.committed and not outcome.relay_pulsed
                assert pipeline.store_faults() == ["store_read_only"]
            assert pipeline.store_idle() == ["store_read_only"]
            remount(mount, "bind,rw")
            outcome = pipeline.scan(pki.code("green", subject="back"), Reading(36.5), at=NOW + 10)
            assert (outcome.decision.decision, outcome.committed) == ("allow", True)
            assert pipeline.store_faults() == []
        finally:
            pipeline.close()
    assert len(stored_ids(card / "scans.db")) == 2  # the first record and the one after


def test_read_only_and_full_failures_are_named():
    assert classify(OSError(errno.EROFS, "Read-only file system")) == "store_read_only"
    assert classify(OSError(errno.ENOSPC, "No space left on device")) == "store_full"
    assert classify(sqlite3.OperationalError("attempt to write a readonly database")) == "store_read_only"
    assert classify(sqlite3.OperationalError("database or disk is full")) == "store_full"
    assert classify(sqlite3.DatabaseError("database disk image is malformed")) == "store_corrupt"
    assert classify(sqlite3.OperationalError("unable to open database file")) == "store_unavailable"


# --- full ---


def test_a_full_card_denies_scans_acknowledges_only_what_is_stored_and_comes_back(pki, tmp_path):
    with mounted(tmp_path / "card", "-t", "tmpfs", "-o", "size=512k", "tmpfs") as card:
        path = card / "scans.db"
        pipeline = pipeline_at(pki, path)
        allowed: list[str] = []
        denied = 0
        try:
            for i in range(20_000):
                outcome = pipeline.scan(pki.code("green", subject=f"person-{i}"), Reading(36.5), at=NOW)
                if outcome.committed:
                    assert outcome.decision.decision == "allow"
                    allowed.append(outcome.record.id)
                else:
                    assert outcome.decision.decision == "deny" and not outcome.relay_pulsed
                    assert outcome.decision.reasons[-1] == "store_unavailable"
                    assert outcome.to_json()["record_id"] is None
                    denied += 1
                    if denied == 3:
                        break
            assert denied == 3 and len(allowed) > 100
            assert pipeline.store_faults() == ["store_full"]
            assert run("mount", "-o", "remount,size=4m", str(card)).returncode == 0
            outcome = pipeline.scan(pki.code("green", subject="after"), Reading(36.5), at=NOW)
            assert outcome.committed and outcome.decision.decision == "allow"
            assert pipeline.store_faults() == []
            allowed.append(outcome.record.id)
        finally:
            pipeline.close()
        assert stored_ids(path) == set(allowed)  # every acknowledged scan, and nothing else


def test_a_small_card_holds_records_not_journal(tmp_path):
    """Issue 16 saw 93 records fit in 2 MB beside a 1.9 MB WAL; now the WAL stays small."""
    with mounted(tmp_path / "card", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as card:
        store = Store(card / "scans.db")
        stored = 0
        try:
            while True:
                store.commit(make_record(T0 + stored, sub=f"{stored:08x}"))
                stored += 1
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "fault", None) == "store_full"
        assert Path(str(card / "scans.db") + "-wal").stat().st_size <= WAL_BOUND_BYTES
        assert store.queue_depth() == stored and stored > 2000
        store.close()


# --- a bounded WAL ---


def test_the_wal_stays_under_its_bound_while_thousands_of_scans_are_written(tmp_path):
    path = tmp_path / "scans.db"
    wal = Path(str(path) + "-wal")
    kiosk = Store(path)
    sync = Store(path)  # `gate sync` reads the queue and marks it meanwhile
    largest = 0
    for i in range(2500):
        kiosk.commit(make_record(T0 + i, sub=f"{i:08x}"),
                     remember_abnormal=(f"CN-JX:{i:08x}", T0 + i) if i % 7 == 0 else None)
        largest = max(largest, wal.stat().st_size)
        if i % 500 == 499:
            sync.mark_delivered([r["id"] for r in sync.pending_json(500)])
        if i % 1000 == 999:
            kiosk.idle_check()  # a quiet moment
    assert largest <= WAL_BOUND_BYTES
    assert (kiosk.queue_depth(), kiosk.count()) == (0, 2500)  # all written, all marked by sync
    sync.close()
    kiosk.close()


# --- kill -9 ---

CHILD = textwrap.dedent("""
    import sys, time
    from gate.record import Record, iso_utc_ms, new_uuid7
    from gate.store import Store
    store = Store(sys.argv[1])
    i = int(sys.argv[2])
    while True:
        t = time.time()
        record = Record(id=new_uuid7(t), device_id="gate-1", venue_id="v", venue_type="metro",
                        scanned_at=iso_utc_ms(t), clock_trusted=True,
                        code={"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": f"{i:08x}",
                              "cti": "aa", "status": "green", "itinerary_risk": False},
                        temperature_c=36.5, temperature_state="normal", decision="allow",
                        decision_reasons=["green", "temperature_normal"],
                        rules_version="metro@1", trust_list_version=1)
        store.commit(record, remember_abnormal=(f"CN-JX:{i:08x}", t) if i % 3 == 0 else None)
        print(record.id, i, flush=True)
        i += 1
""")


def test_kill_9_at_random_moments_loses_no_acknowledged_record(tmp_path):
    path = tmp_path / "scans.db"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: list[tuple[str, int]] = []
    for round_ in range(4):
        stop_after = rng.randrange(1, 400)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(round_ * 100_000)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = 0
        deadline = time.monotonic() + 30
        try:
            while seen < stop_after and time.monotonic() < deadline:
                line = child.stdout.readline()
                if not line:
                    break
                record_id, i = line.split()
                acknowledged.append((record_id, int(i)))
                seen += 1
        finally:
            child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=10)
        for line in rest.splitlines():
            record_id, i = line.split()
            acknowledged.append((record_id, int(i)))
        assert child.returncode == -signal.SIGKILL, err
        assert seen == stop_after, err
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with Store(path) as store:
        assert store.faults() == []  # sound after every kill: nothing moved aside
        stored = {r.id for r in store.pending(100_000)}
        for record_id, i in acknowledged:
            assert record_id in stored
            if i % 3 == 0:
                assert store.last_abnormal_at(f"CN-JX:{i:08x}") is not None


def test_a_quiet_moment_checkpoints_a_busy_wal_but_not_a_scan_or_two(tmp_path):
    path = tmp_path / "scans.db"
    with Store(path) as store:
        store.commit(make_record(T0))
        store.checkpoint()
        before = path.read_bytes()
        for i in range(3):
            store.commit(make_record(T0 + 1 + i))
        store.idle_check()
        assert path.read_bytes() == before  # a few scans stay in the WAL: written once, not twice
        for i in range(60):
            store.commit(make_record(T0 + 10 + i))
        store.idle_check()
        assert path.read_bytes() != before  # copied into the main file while nobody waits
        assert store.checkpoint() == 0
