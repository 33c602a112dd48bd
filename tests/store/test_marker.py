"""gate/store/marker.py with Store: a store that vanished (deleted, emptied to 0 bytes, swapped
for an empty one) where undelivered records existed is the store_missing fault, never a silent
fresh start; and the marker is not written per scan."""

from __future__ import annotations

import os
from pathlib import Path

from gate.store import Store
from gate.store.marker import Marker, depth_band, marker_path, read_marker, write_marker
from tests.store.storekit import T0, make_record


def with_queue(path: Path, n: int) -> str:
    with Store(path) as store:
        for i in range(n):
            store.commit(make_record(T0 + i))
        return store.meta_get("store_id")


def test_a_first_start_is_no_fault_and_leaves_a_marker(tmp_path):
    path = tmp_path / "scans.db"
    with Store(path) as store:
        assert store.faults() == []
        assert read_marker(path) == Marker(store.meta_get("store_id"), 0)


def test_a_store_emptied_to_0_bytes_where_records_waited_is_store_missing(tmp_path):
    path = tmp_path / "scans.db"
    old_id = with_queue(path, 500)
    path.write_bytes(b"")
    with Store(path) as store:
        assert store.faults() == ["store_missing"]
        details = store.fault_details()["store_missing"]
        assert details["store_id"] == old_id and details["queue_depth"] >= 100
        store.commit(make_record(T0 + 9999))  # the gate goes on recording, flagged
        assert read_marker(path).store_id == store.meta_get("store_id") != old_id
    with Store(path) as again:  # the fault is kept until a technician clears it
        assert again.faults() == ["store_missing"]
        again.clear_fault("store_missing")
        assert again.faults() == []


def test_a_deleted_store_is_store_missing(tmp_path):
    path = tmp_path / "scans.db"
    with_queue(path, 3)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Store(path) as store:
        assert store.faults() == ["store_missing"]
        assert store.fault_details()["store_missing"]["found"] == "missing"


def test_another_empty_store_in_its_place_is_store_missing(tmp_path):
    path = tmp_path / "scans.db"
    with_queue(path, 3)
    other = tmp_path / "other.db"
    Store(other).close()
    os.replace(other, path)
    with Store(path) as store:
        assert store.faults() == ["store_missing"]


def test_a_store_whose_records_were_all_delivered_may_start_afresh(tmp_path):
    path = tmp_path / "scans.db"
    with Store(path) as store:
        r = make_record()
        store.commit(r)
        store.mark_delivered([r.id])
    assert read_marker(path).queue_depth == 0
    path.unlink()
    with Store(path) as store:
        assert store.faults() == []


def test_a_store_that_lost_its_marker_is_no_fault(tmp_path):
    path = tmp_path / "scans.db"
    with_queue(path, 3)
    marker_path(path).unlink()
    with Store(path) as store:
        assert store.faults() == []
        assert read_marker(path).queue_depth == 3


def test_the_marker_is_written_only_when_the_queue_crosses_a_threshold(tmp_path, monkeypatch):
    path = tmp_path / "scans.db"
    writes: list[Marker] = []
    import gate.store.marker as marker_module

    real = marker_module.write_marker
    monkeypatch.setattr(marker_module, "write_marker", lambda p, m: (writes.append(m), real(p, m)))
    with Store(path) as store:
        for i in range(150):
            store.commit(make_record(T0 + i))
        assert [m.queue_depth for m in writes] == [0, 1, 10, 100]
        store.mark_delivered([r.id for r in store.pending(1000)])
        assert writes[-1].queue_depth == 0
    assert len(writes) == 5


def test_depth_bands():
    assert [depth_band(n) for n in (0, 1, 9, 10, 99, 100, 12345)] == [0, 1, 1, 2, 2, 3, 5]


def test_an_unreadable_marker_is_as_if_none_were_kept(tmp_path):
    path = tmp_path / "scans.db"
    marker_path(path).write_text("{not json")
    assert read_marker(path) is None
    write_marker(path, Marker("abc", 7))
    assert read_marker(path) == Marker("abc", 7)
    assert [p.name for p in tmp_path.iterdir()] == ["scans.db.marker"]  # no temp file left
