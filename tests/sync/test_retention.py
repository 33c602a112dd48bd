"""Retention after a round: old delivered records go; undelivered and rejected ones stay."""

from __future__ import annotations

import time

from gate.sync import sync_health
from tests.synckit import closed_port_url, make_records


def test_after_a_round_old_delivered_records_go_and_undelivered_ones_stay(collector_factory, gate):
    collector = collector_factory()
    now = time.time()
    old = gate.add(make_records(5, start=now - 40 * 86400))
    old_bad = gate.add(make_records(2, start=now - 39 * 86400, venue_id="x\x00"))
    recent = gate.add(make_records(5, start=now - 86400))
    result = gate.syncer(collector.url, retention_days=28).round()
    assert result.ok and result.pruned == 5
    assert [gate.store.get(i) for i in old] == [None] * 5
    assert all(gate.store.get(i) is not None for i in old_bad + recent)


def test_a_nearly_full_disk_deletes_the_oldest_delivered_first_and_says_so(collector_factory, gate):
    collector = collector_factory()
    delivered = gate.add(make_records(5))
    syncer = gate.syncer(collector.url)
    assert syncer.round().ok
    waiting = gate.add(make_records(3, start=1_795_000_500.0))

    away = gate.syncer(closed_port_url(), min_free_bytes=1 << 62)  # never enough room
    result = away.round()
    assert result.stopped_by == "network" and result.pruned == 5
    assert [gate.store.get(i) for i in delivered] == [None] * 5
    assert all(gate.store.get(i) is not None for i in waiting)
    assert sync_health(gate.store)["free_space_pruned"]["deleted"] == 5
