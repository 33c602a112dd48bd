"""gate/store/recovery.py with Store: a damaged store is found, moved aside whole and never
written again, a fresh store takes its place, and its undelivered records are recovered into it,
flagged as recovered. Real SQLite files, damaged on purpose; recovery by the sqlite3 shell."""

from __future__ import annotations

import dataclasses

import shutil
import sqlite3
from pathlib import Path

import pytest

from gate.store import IDLE_CHECK_EVERY_S, Store, check_integrity
from gate.store.schema import decode_body
from tests.store.storekit import T0, checkpointed, make_record, scramble

pytestmark = pytest.mark.skipif(shutil.which("sqlite3") is None,
                                reason="the sqlite3 shell is missing (scripts/install-system-deps.sh)")


def filled(path: Path, n: int = 600, delivered: int = 100):
    """A store of `n` scans, the first `delivered` of them delivered; returns the records."""
    records = [make_record(T0 + i, sub=f"{i:08x}") for i in range(n)]
    with Store(path) as store:
        for r in records:
            store.commit(r)
        store.commit(make_record(T0 + n, sub="feverish", decision="recheck"),
                     remember_abnormal=("CN-JX:feverish", T0 + n))
        store.mark_delivered([r.id for r in records[:delivered]])
    checkpointed(path)
    return records


def corrupt_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("scans.db.corrupt-*"))


def recovered_ids(store: Store) -> set[str]:
    rows = store._db.execute("SELECT id FROM records WHERE recovered = 1").fetchall()
    return {r[0] for r in rows}


def test_scrambled_pages_are_found_at_start_and_the_undelivered_records_recovered(tmp_path):
    path = tmp_path / "scans.db"
    records = filled(path)
    size = path.stat().st_size
    scramble(path, first_page=size // 1024 // 3, pages=8)  # 8 KiB of noise in the middle
    damaged = path.read_bytes()
    assert not check_integrity(path)[0]

    with Store(path) as store:
        assert store.faults() == ["store_corrupt"]
        details = store.fault_details()["store_corrupt"]
        got = recovered_ids(store)
        assert store.recovered_count == len(got) == details["recovered"]
        undelivered = {r.id for r in records[100:]}
        assert got <= undelivered | {store.pending(10_000)[-1].id}
        # 8 pages of about 5 records each: all but those are back, none of the delivered ones.
        assert len(got & undelivered) >= len(undelivered) - 60
        assert not got & {r.id for r in records[:100]}
        for record in store.pending(10_000):
            original = next((r for r in records if r.id == record.id), record)
            assert "store_corrupt" in record.faults  # a recovered record says so
            assert dataclasses.replace(record, faults=original.faults) == original
        assert store.last_abnormal_at("CN-JX:feverish") == T0 + 600
        assert store.integrity_ok()
        store.commit(make_record(T0 + 10_000))  # the fresh store takes scans

    moved = corrupt_files(tmp_path)
    assert [m.name for m in moved] == [details["moved_to"]]
    assert moved[0].read_bytes() == damaged  # kept whole and never written


def test_recovered_records_are_flagged_in_what_is_uploaded(tmp_path):
    path = tmp_path / "scans.db"
    filled(path, n=50, delivered=0)
    scramble(path, first_page=path.stat().st_size // 1024 - 2, pages=1)
    with Store(path) as store:
        assert "store_corrupt" in store.faults()
        uploaded = store.pending_json(1000)
        assert uploaded and all("store_corrupt" in r["faults"] for r in uploaded)


def test_the_idle_check_finds_damage_in_an_open_store_and_recovers(tmp_path):
    path = tmp_path / "scans.db"
    store = Store(path)
    records = [make_record(T0 + i, sub=f"{i:08x}") for i in range(400)]
    for r in records:
        store.commit(r)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    assert store.idle_check() == []  # sound, and not yet due
    scramble(path, first_page=path.stat().st_size // 1024 // 2, pages=8)
    faults = store.idle_check(now=store._last_check + IDLE_CHECK_EVERY_S + 1)
    assert faults == ["store_corrupt"]
    assert len(corrupt_files(tmp_path)) == 1
    assert 300 <= store.recovered_count <= 400
    store.commit(make_record(T0 + 10_000))
    assert store.queue_depth() == store.recovered_count + 1
    store.close()


def test_a_check_that_is_not_due_reads_nothing(tmp_path):
    path = tmp_path / "scans.db"
    with Store(path) as store:
        store.commit(make_record())
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        scramble(path, first_page=2, pages=2)
        assert store.idle_check(now=store._last_check + 1) == []
        assert corrupt_files(tmp_path) == []


def test_a_truncated_store_keeps_what_lies_before_the_cut(tmp_path):
    path = tmp_path / "scans.db"
    records = filled(path, n=600, delivered=0)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    with Store(path) as store:
        assert store.faults() == ["store_corrupt"]
        got = recovered_ids(store)
        assert 100 <= len(got) < 601
        assert got <= {r.id for r in records} | {store.pending(10_000)[-1].id}
    assert len(corrupt_files(tmp_path)) == 1


def test_a_store_is_moved_aside_with_its_wal_and_the_wal_s_records_recovered(tmp_path):
    path = tmp_path / "scans.db"
    store = Store(path)
    writer = sqlite3.connect(path)  # another process keeps the WAL from being removed at close
    writer.execute("SELECT count(*) FROM records").fetchall()
    early = [make_record(T0 + i, sub=f"{i:08x}") for i in range(300)]
    for r in early:
        store.commit(r)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    late = [make_record(T0 + 1000 + i) for i in range(5)]
    for r in late:
        store.commit(r)  # only in the WAL
    store.close()
    scramble(path, first_page=path.stat().st_size // 1024 // 2, pages=8)
    wal = Path(str(path) + "-wal").read_bytes()
    with Store(path) as again:
        assert again.faults() == ["store_corrupt"]
        ids = {r.id for r in again.pending(10_000)}
        assert {r.id for r in late} <= ids  # read from the moved WAL
        assert len(ids) >= 300 - 60
    moved = sorted(m.name for m in tmp_path.glob("scans.db.corrupt-*"))
    assert [m[len(moved[0]):] for m in moved] == ["", "-shm", "-wal"]
    assert (tmp_path / moved[2]).read_bytes() == wal
    writer.close()


def test_doctor_integrity_check_reads_without_writing(tmp_path):
    path = tmp_path / "scans.db"
    filled(path, n=50)
    assert check_integrity(path) == (True, f"store {path} passes SQLite's integrity check")
    scramble(path, first_page=3, pages=2)
    before = path.read_bytes()
    ok, line = check_integrity(path)
    assert not ok and "damaged" in line and "\n" not in line
    assert path.read_bytes() == before
    assert corrupt_files(tmp_path) == []
    assert check_integrity(tmp_path / "nothing.db")[0] is False


def test_bodies_of_schema_1_are_read_back(tmp_path):
    assert decode_body('{"id": "x"}') == {"id": "x"}
    with pytest.raises(ValueError):
        decode_body(b"\x09garbage")


def test_a_schema_1_store_is_migrated_with_its_queue(tmp_path):
    """A gate updated in the field: schema 1 (JSON text, four indexes) becomes schema 2."""
    path = tmp_path / "scans.db"
    from gate.store import schema
    import sqlite_utils

    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    schema.apply_migrations(db, schema.MIGRATIONS[:1])
    kept, sent, refused = make_record(T0), make_record(T0 + 1), make_record(T0 + 2)
    import json as _json
    for r, delivered, rejected in ((kept, None, None), (sent, T0, None), (refused, None, T0)):
        db.execute("INSERT INTO records (id, scanned_at, scanned_epoch, subject_key, decision, alert, body,"
                   " committed_at, delivered_at, rejected_at, rejected_error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (r.id, r.scanned_at, T0, r.subject_key, r.decision, 0, _json.dumps(r.to_json()), T0,
                    delivered, rejected, "bad" if rejected else None))
    db.conn.close()
    with Store(path) as store:
        assert store.schema_version() == 2
        assert [r.id for r in store.pending(10)] == [kept.id]
        assert store.get(sent.id) == sent
        assert store.rejected() == [(refused, "bad")]
        assert store.faults() == []


def test_the_doctor_reads_kept_faults_without_opening_the_store_for_writing(tmp_path):
    from gate.store import kept_faults

    path = tmp_path / "scans.db"
    filled(path, n=40, delivered=0)
    assert kept_faults(path) == {}
    scramble(path, first_page=path.stat().st_size // 1024 - 3, pages=2)
    Store(path).close()
    faults = kept_faults(path)
    assert list(faults) == ["store_corrupt"] and faults["store_corrupt"]["recovered"] >= 30
    assert kept_faults(tmp_path / "absent.db") == {}
