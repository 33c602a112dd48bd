"""PostgreSQL month partitions: made as records arrive, pruned by time, dropped by retention."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gate.collector import django_db, ingest, partitions
from gate.collector.models import Record
from gate.collector.records import ScanWindow, check_record
from tests.collectorkit import new_record


@pytest.fixture
def pg_alias(postgres_db_url):
    name = django_db.database_alias(postgres_db_url)
    with django_db.activate(name):
        yield name


def store(alias: str, *times: str) -> list[dict]:
    records = [new_record(scanned_at=t) for t in times]
    ingest.store_records([check_record(r, r["device_id"], 0.0) for r in records], alias)
    return records


def test_records_go_to_the_partition_of_their_month(pg_alias):
    store(pg_alias, "2026-09-30T23:59:59.999Z", "2026-10-01T00:00:00.000Z",
          "2026-10-15T08:00:00+08:00")
    names = partitions.existing(pg_alias)
    assert {"collector_record_y2026m09", "collector_record_y2026m10"} <= set(names)
    from django.db import connections

    with connections[pg_alias].cursor() as cur:
        cur.execute("SELECT count(*) FROM collector_record_y2026m10")
        assert cur.fetchone()[0] == 2


def test_a_time_bounded_query_scans_only_its_months(pg_alias):
    store(pg_alias, "2026-08-10T00:00:00.000Z", "2026-10-10T00:00:00.000Z")
    query = Record.objects.filter(scanned_at__gte=datetime(2026, 10, 1, tzinfo=timezone.utc),
                                  scanned_at__lt=datetime(2026, 11, 1, tzinfo=timezone.utc))
    plan = query.explain()
    assert "y2026m10" in plan and "y2026m08" not in plan
    assert query.count() == 1


def test_retention_drops_whole_months_with_their_ids(pg_alias):
    old, kept = store(pg_alias, "2026-07-05T00:00:00.000Z", "2026-09-05T00:00:00.000Z")
    dropped = partitions.drop_before(pg_alias, datetime(2026, 9, 1, tzinfo=timezone.utc))
    assert "collector_record_y2026m07" in dropped
    assert "collector_record_y2026m09" not in dropped
    assert list(Record.objects.values_list("id", flat=True)) == [kept["id"]]
    # the dropped id is free again: a resend is stored anew, into a partition made again
    again = ingest.store_records([check_record(old, old["device_id"], 0.0)], pg_alias)
    assert again.new == {old["id"]}


def test_sqlite_retention_deletes_by_time(tmp_path):
    alias = django_db.database_alias(f"sqlite:///{tmp_path / 'r.db'}")
    with django_db.activate(alias):
        store(alias, "2026-07-05T00:00:00.000Z", "2026-09-05T00:00:00.000Z")
        assert partitions.drop_before(alias, datetime(2026, 9, 1, tzinfo=timezone.utc)) == []
        assert Record.objects.count() == 1


def _window(earliest: str, latest: str) -> ScanWindow:
    return ScanWindow(earliest, latest)


@pytest.mark.parametrize("month", ["0001-01", "2024-12", "2027-02", "9999-12"])
def test_no_partition_is_made_for_a_month_outside_the_window(pg_alias, month):
    before = partitions.existing(pg_alias)
    window = _window("2025-01-10T00:00:00.000Z", "2027-01-20T00:00:00.000Z")
    with pytest.raises(partitions.PartitionRefused, match=month):
        partitions.ensure_for(pg_alias, ["2026-05", month], window)
    assert partitions.existing(pg_alias) == before  # not even the month inside it


def test_storing_refuses_a_row_outside_the_window_before_anything_is_stored(pg_alias):
    far = new_record(scanned_at="2999-01-01T00:00:00.000Z")
    near = new_record()
    rows = [check_record(r, r["device_id"], 0.0) for r in (near, far)]
    with pytest.raises(partitions.PartitionRefused):
        ingest.store_records(rows, pg_alias)
    assert Record.objects.count() == 0
    assert "collector_record_y2999m01" not in partitions.existing(pg_alias)


def test_ensure_ahead_makes_only_months_inside_the_window(pg_alias):
    window = ScanWindow.around(datetime(2026, 12, 31, 12, tzinfo=timezone.utc).timestamp())
    partitions.ensure_ahead(pg_alias, window)
    assert {"collector_record_y2026m12", "collector_record_y2027m01"} <= set(
        partitions.existing(pg_alias))
    assert "collector_record_y2027m02" not in partitions.existing(pg_alias)


def test_drop_before_and_drop_after_clear_a_flood_of_partitions_that_exists(pg_alias):
    """Months a collector made before it had a window (the flood of issue 20): thousands of
    partitions at once would exhaust PostgreSQL's lock table in one transaction."""
    flood = {f"{1100 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(100)}
    flood |= {f"{3000 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(100)}
    partitions._create(pg_alias, flood)  # as the collector did before it refused them
    kept = store(pg_alias, "2026-09-05T00:00:00.000Z")[0]
    assert len(partitions.existing(pg_alias)) >= 201
    dropped = partitions.drop_before(pg_alias, datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert len(dropped) == 100
    dropped = partitions.drop_after(pg_alias, datetime(2027, 12, 31, tzinfo=timezone.utc))
    assert len(dropped) == 100
    assert all("y2026" in n or "y2027" in n for n in partitions.existing(pg_alias))
    assert list(Record.objects.values_list("id", flat=True)) == [kept["id"]]
    # the alerts page's query over the whole table answers
    assert Record.objects.filter(scanned_at__gte=datetime(2026, 1, 1, tzinfo=timezone.utc)).count() == 1
