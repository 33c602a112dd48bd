"""gate/store.py: every scan durable before the gate moves, a queue for sync, nothing undelivered lost.

Real SQLite files in tmp_path. The full-disk and read-only cases mount a small tmpfs or a
read-only bind mount (root in this sandbox); they are skipped, saying why, where mounting
is not permitted.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gate.record import Record, iso_utc_ms, new_uuid7
from gate.store import MIGRATIONS, Store, StoreUnavailable, apply_migrations, schema_version
from tests.store.storekit import mounted, run as _run

import sqlite_utils

T0 = 1795421702.123
DAY = 86400.0


def make_record(t: float = T0, *, sub: str = "0011eeff", decision: str = "allow",
                status: str | None = "green", **changes) -> Record:
    fields = dict(
        id=new_uuid7(t),
        device_id="gate-nc-0001",
        venue_id="360102-012-north-gate",
        venue_type="residential",
        scanned_at=iso_utc_ms(t),
        clock_trusted=True,
        code={"valid": status is not None, "reason": "ok" if status else "expired",
              "issuer": "CN-JX", "sub": sub, "cti": "a1b2", "status": status,
              "itinerary_risk": False},
        temperature_c=36.6,
        temperature_state="normal",
        decision=decision,
        decision_reasons=["green", "temperature_normal"],
        rules_version="residential@1",
        trust_list_version=7,
    )
    fields.update(changes)
    return Record(**fields)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "scans.db"


@pytest.fixture
def store(db_path: Path):
    s = Store(db_path)
    yield s
    s.close()


def ids(records) -> list[str]:
    return [r.id for r in records]


# --- opening ---


def test_a_new_store_is_wal_synchronous_full_at_the_latest_schema(store, db_path):
    assert store.schema_version() == len(MIGRATIONS)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert store.integrity_ok()
    assert store.queue_depth() == 0 and store.oldest_pending_scanned_at() is None


def test_opening_makes_the_missing_folder(tmp_path):
    with Store(tmp_path / "var" / "lib" / "gate" / "scans.db") as s:
        s.commit(make_record())
    assert (tmp_path / "var" / "lib" / "gate" / "scans.db").is_file()


def test_a_folder_that_cannot_be_made_is_store_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StoreUnavailable) as info:
        Store(tmp_path / "a-file" / "scans.db")
    assert "\n" not in str(info.value)


def test_a_file_of_garbage_is_moved_aside_and_a_fresh_store_takes_its_place(db_path):
    garbage = os.urandom(8192)
    db_path.write_bytes(garbage)
    with Store(db_path) as s:
        assert s.faults() == ["store_corrupt"]
        assert s.recovered_count == 0
        s.commit(make_record())
        moved = s.fault_details()["store_corrupt"]["moved_to"]
    assert (db_path.parent / moved).read_bytes() == garbage  # kept whole, never deleted


def test_close_is_safe_twice_and_use_after_close_is_store_unavailable(db_path):
    s = Store(db_path)
    s.close()
    s.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        s.commit(make_record())


# --- schema migrations ---


def test_migrates_an_empty_version_0_file(db_path):
    sqlite3.connect(db_path).close()  # a file SQLite made, user_version 0, no tables
    with Store(db_path) as s:
        assert s.schema_version() == len(MIGRATIONS)
        s.commit(make_record())


def test_reopening_migrates_nothing_and_keeps_everything(db_path):
    with Store(db_path) as s:
        record = make_record()
        s.commit(record)
    with Store(db_path) as s:
        assert s.schema_version() == len(MIGRATIONS)
        assert s.get(record.id) == record


def test_a_later_migration_runs_once_on_an_older_file(db_path):
    def add_note_column(db):
        db.execute("ALTER TABLE records ADD COLUMN note TEXT")

    with Store(db_path) as s:
        s.commit(make_record())
    db = sqlite_utils.Database(db_path)
    assert apply_migrations(db, MIGRATIONS + [add_note_column]) == len(MIGRATIONS) + 1
    assert apply_migrations(db, MIGRATIONS + [add_note_column]) == len(MIGRATIONS) + 1
    assert "note" in db["records"].columns_dict
    db.close()


def test_a_failing_migration_leaves_the_file_at_its_version(db_path):
    def half_done(db):
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("migration broke")

    with Store(db_path) as s:
        s.commit(make_record())
    db = sqlite_utils.Database(db_path)
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(db, MIGRATIONS + [half_done])
    assert schema_version(db) == len(MIGRATIONS)
    assert "half" not in db.table_names()
    db.close()


def test_a_file_from_a_newer_gate_is_store_unavailable(db_path):
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnavailable, match="newer than this gate knows"):
        Store(db_path)


# --- committing scans ---


def test_a_committed_record_reads_back_equal(store):
    record = make_record(override={"record_id": new_uuid7(T0 - 3), "overrode": "manual"},
                         temperature_raw={"object_c": 36.2, "ambient_c": 21.0})
    store.commit(record)
    assert store.get(record.id) == record
    assert store.get(new_uuid7(T0 + 99)) is None
    assert store.count() == 1


def test_a_second_commit_of_the_same_id_is_refused_and_the_first_kept(store):
    record = make_record()
    store.commit(record)
    with pytest.raises(StoreUnavailable):
        store.commit(make_record(id=record.id, decision="deny"))
    assert store.get(record.id) == record


def test_another_process_sees_a_commit_at_once(store, db_path):
    record = make_record()
    store.commit(record)
    other = sqlite3.connect(db_path)
    assert other.execute("SELECT id FROM records").fetchall() == [(record.id,)]
    other.close()


# --- the re-measure memory ---


def test_the_memory_is_remembered_and_forgotten_with_the_scan(store):
    key = "CN-JX:0011eeff"
    assert store.last_abnormal_at(key) is None
    store.commit(make_record(decision="recheck"), remember_abnormal=(key, T0))
    assert store.last_abnormal_at(key) == T0
    store.commit(make_record(T0 + 60, decision="recheck"), remember_abnormal=(key, T0 + 60))
    assert store.last_abnormal_at(key) == T0 + 60
    store.commit(make_record(T0 + 120, decision="refer"), forget_abnormal=key)
    assert store.last_abnormal_at(key) is None


def test_the_memory_survives_a_restart(db_path):
    key = "CN-JX:0011eeff"
    with Store(db_path) as s:
        s.commit(make_record(decision="recheck"), remember_abnormal=(key, T0))
    with Store(db_path) as s:
        assert s.last_abnormal_at(key) == T0


def test_a_scan_that_fails_to_commit_changes_no_memory(store):
    key = "CN-JX:0011eeff"
    first = make_record(decision="recheck")
    store.commit(first, remember_abnormal=(key, T0))
    with pytest.raises(StoreUnavailable):
        store.commit(make_record(id=first.id, decision="refer"), forget_abnormal=key)
    assert store.last_abnormal_at(key) == T0
    with pytest.raises(StoreUnavailable):
        store.commit(make_record(id=first.id), remember_abnormal=("CN-JX:99", T0))
    assert store.last_abnormal_at("CN-JX:99") is None


# --- the upload queue ---


def test_pending_is_oldest_first_by_id_whatever_the_commit_order(store):
    records = [make_record(T0 + i) for i in range(10)]
    for r in reversed(records):
        store.commit(r)
    assert ids(store.pending(100)) == ids(records)
    assert ids(store.pending(3)) == ids(records[:3])
    assert store.pending_json(2) == [r.to_json() for r in records[:2]]
    assert store.queue_depth() == 10
    assert store.oldest_pending_scanned_at() == records[0].scanned_at


def test_delivered_records_leave_the_queue(store):
    records = [make_record(T0 + i) for i in range(5)]
    for r in records:
        store.commit(r)
    assert store.mark_delivered([records[0].id, records[2].id]) == 2
    assert store.mark_delivered([records[0].id]) == 0  # a duplicate answer changes nothing
    assert ids(store.pending(10)) == ids([records[1], records[3], records[4]])
    assert store.queue_depth() == 3
    assert store.oldest_pending_scanned_at() == records[1].scanned_at
    assert store.get(records[0].id) == records[0]  # delivered, still kept


def test_rejected_records_are_kept_for_a_technician_and_never_resent(store):
    good, bad = make_record(T0), make_record(T0 + 1)
    store.commit(good)
    store.commit(bad)
    assert store.mark_rejected({bad.id: "temperature_c out of range"}) == 1
    assert ids(store.pending(10)) == [good.id]
    assert store.queue_depth() == 1
    assert store.rejected() == [(bad, "temperature_c out of range")]


def test_alerts_wait_until_sent_and_stay_in_the_batch_queue(store):
    normal = make_record(T0)
    held = make_record(T0 + 1, decision="hold", status="red")
    referred = make_record(T0 + 2, decision="refer")
    red_bus = make_record(T0 + 3, decision="deny", status="red")
    for r in (normal, held, referred, red_bus):
        store.commit(r)
    assert ids(store.pending_alerts(10)) == ids([held, referred, red_bus])
    assert ids(store.pending_alerts(1)) == [held.id]
    store.mark_alert_sent([held.id])
    store.mark_delivered([referred.id])
    assert ids(store.pending_alerts(10)) == [red_bus.id]
    store.mark_rejected({red_bus.id: "bad"})
    assert store.pending_alerts(10) == []
    assert ids(store.pending(10)) == ids([normal, held])


def test_records_of_a_subject_newest_first(store):
    mine = [make_record(T0 + i, sub="aa01") for i in range(4)]
    theirs = make_record(T0 + 10, sub="bb02")
    for r in mine + [theirs]:
        store.commit(r)
    assert ids(store.records_of_subject("CN-JX:aa01", 10)) == ids(reversed(mine))
    assert ids(store.records_of_subject("CN-JX:aa01", 2)) == ids([mine[3], mine[2]])
    assert store.records_of_subject("CN-JX:cc03", 10) == []


@pytest.mark.parametrize("method,index", [
    ("pending", "records_queue"),
    ("queue_depth", "records_queue"),
    ("pending_alerts", "records_alerts_pending"),
    ("get", "records_queue"),
])
def test_the_queue_queries_use_their_indexes(store, method, index):
    sql = {
        "pending": "SELECT body FROM records WHERE state = 0 ORDER BY id LIMIT 5",
        "queue_depth": "SELECT count(*) FROM records WHERE state = 0",
        "pending_alerts": "SELECT body FROM records INDEXED BY records_alerts_pending"
                          " WHERE alert = 1 AND alert_sent_at IS NULL AND state = 0 ORDER BY id LIMIT 5",
        "get": "SELECT body FROM records WHERE state IN (0, 1, 2) AND id = 'x'",
    }[method]
    plan = " ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan


# --- retention ---


def test_prune_deletes_only_delivered_records_past_retention(store):
    now = T0 + 40 * DAY
    old_delivered = make_record(T0)
    old_undelivered = make_record(T0 + 1)
    old_rejected = make_record(T0 + 2)
    recent_delivered = make_record(now - 1 * DAY)
    store.commit(old_delivered, remember_abnormal=("CN-JX:old", T0))
    store.commit(old_undelivered)
    store.commit(old_rejected)
    store.commit(recent_delivered, remember_abnormal=("CN-JX:recent", now - 60))
    store.mark_delivered([old_delivered.id, recent_delivered.id])
    store.mark_rejected({old_rejected.id: "bad"})
    assert store.prune(retention_days=28, now=now) == 1
    assert store.get(old_delivered.id) is None
    for kept in (old_undelivered, old_rejected, recent_delivered):
        assert store.get(kept.id) == kept
    assert store.prune(retention_days=28, now=now) == 0
    assert store.last_abnormal_at("CN-JX:old") is None
    assert store.last_abnormal_at("CN-JX:recent") == now - 60


def test_prune_never_deletes_undelivered_even_with_zero_retention(store):
    records = [make_record(T0 + i) for i in range(2500)]
    for r in records:
        store.commit(r)
    store.mark_delivered([r.id for r in records[::2]])
    assert store.prune(retention_days=0, now=T0 + 100 * DAY) == 1250
    assert ids(store.pending(5000)) == ids(records[1::2])
    assert store.count() == 1250


def test_free_space_prune_deletes_oldest_delivered_first_and_flags_it(store):
    records = [make_record(T0 + i) for i in range(20)]
    for r in records:
        store.commit(r)
    store.mark_delivered([r.id for r in records[:15]])
    assert store.free_space_prune(min_free_bytes=0, now=T0) == 0
    assert store.free_space_pruned() is None
    impossible = store.free_bytes() * 10 + 1
    assert store.free_space_prune(min_free_bytes=impossible, now=T0 + 5) == 15
    assert ids(store.pending(100)) == ids(records[15:])
    flag = store.free_space_pruned()
    assert flag["at"] == T0 + 5 and flag["deleted"] == 15


# --- small durable state ---


def test_meta_values_survive_a_restart_and_none_deletes(db_path):
    with Store(db_path) as s:
        assert s.meta_get("sync_backoff") is None
        assert s.meta_get("sync_backoff", 0) == 0
        s.meta_set("sync_backoff", {"attempt": 3, "next_at": 1795421800.5})
        s.meta_set("auth_failure", "401 unknown device")
        s.meta_set("auth_failure", "403")
    with Store(db_path) as s:
        assert s.meta_get("sync_backoff") == {"attempt": 3, "next_at": 1795421800.5}
        assert s.meta_get("auth_failure") == "403"
        s.meta_set("auth_failure", None)
        assert s.meta_get("auth_failure") is None


# --- a full disk, a read-only file (real mounts) ---


def test_a_full_disk_is_store_unavailable_and_loses_no_committed_record(tmp_path):
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=1m", "tmpfs") as disk:
        path = disk / "scans.db"
        store = Store(path)
        committed = []
        with pytest.raises(StoreUnavailable) as info:
            for i in range(10_000):
                record = make_record(T0 + i, temperature_raw={"pad": "x" * 400})
                store.commit(record, remember_abnormal=(f"CN-JX:{i:04x}", T0 + i))
                committed.append(record)
        assert "\n" not in str(info.value)
        assert len(committed) > 10
        # Nothing committed is lost, and the store still answers while the disk is full.
        assert store.queue_depth() == len(committed)
        assert _run("mount", "-o", "remount,size=4m", str(disk)).returncode == 0
        store.commit(make_record(T0 + 20_000))  # room again: the same store writes again
        store.close()
        with Store(path) as again:
            assert again.integrity_ok()
            assert ids(again.pending(20_000))[:-1] == ids(committed)
            assert again.last_abnormal_at(f"CN-JX:{len(committed) - 1:04x}") is not None


def test_free_space_prune_on_a_nearly_full_disk(tmp_path):
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=16m", "tmpfs") as disk:
        with Store(disk / "scans.db") as store:
            records = [make_record(T0 + i, temperature_raw={"pad": "x" * 400}) for i in range(1500)]
            for r in records:
                store.commit(r)
            store.mark_delivered([r.id for r in records[:1200]])
            store._give_back_space()
            (disk / "filler").write_bytes(b"\0" * (store.free_bytes() - 64 * 1024))
            wanted = 256 * 1024
            deleted = store.free_space_prune(min_free_bytes=wanted, now=T0)
            assert 0 < deleted < 1200
            assert 0 < deleted < 1200
            assert store.free_bytes() >= wanted
            assert ids(store.pending(2000)) == ids(records[1200:])
            assert store.get(records[0].id) is None  # oldest delivered went first
            assert store.free_space_pruned()["deleted"] == deleted


def test_a_read_only_file_system_is_store_unavailable_at_open(tmp_path):
    source = tmp_path / "rw"
    source.mkdir()
    record = make_record()
    with Store(source / "scans.db") as s:
        s.commit(record)
    with mounted(tmp_path / "ro", "--bind", str(source)) as ro:
        if _run("mount", "-o", "remount,bind,ro", str(ro)).returncode != 0:
            pytest.skip("a read-only bind mount is not permitted here")
        with pytest.raises(StoreUnavailable) as info:
            Store(ro / "scans.db")
        assert "\n" not in str(info.value)
    with Store(source / "scans.db") as s:
        assert s.get(record.id) == record


# --- kill -9 ---

def test_commit_many_writes_a_backlog_in_one_transaction(db_path):
    records = [make_record(T0 + i) for i in range(50)]
    with Store(db_path) as store:
        assert store.commit_many(records) == 50
        assert ids(store.pending(100)) == [r.id for r in records]
        with pytest.raises(StoreUnavailable):
            store.commit_many([make_record(T0 + 100), records[0]])  # one duplicate: none is written
        assert store.queue_depth() == 50
