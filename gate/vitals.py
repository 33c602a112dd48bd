"""The decision path's figures for the metrics: the queue, the lists' age, the clock."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.record import parse_iso_utc
from gate.store import Store

log = logging.getLogger("gate.pipeline")


@dataclass(frozen=True)
class Vitals:
    """The decision path's figures for the metrics, as plain values."""

    queue_depth: int | None
    oldest_pending_age_s: float | None
    trust_version: int | None
    trust_age_s: float | None
    clock_trusted: bool


def vitals_of(store: Store | None, trust: TrustStore, floor: TimeFloor) -> Vitals:
    """The figures now (each None when unknown); a store that cannot answer never raises."""
    depth = age = None
    if store is not None:
        try:
            oldest = store.oldest_pending_scanned_at()
            age = max(0.0, time.time() - parse_iso_utc(oldest)) if oldest else 0.0
            depth = store.queue_depth()
        except Exception:  # noqa: BLE001  (figures must never take the loop down)
            log.warning("queue figures unavailable", exc_info=True)
    trust_list = trust.trust_list
    return Vitals(
        queue_depth=depth, oldest_pending_age_s=age,
        trust_version=trust_list.version if trust_list is not None else None,
        trust_age_s=max(0.0, time.time() - trust_list.issued_at) if trust_list is not None else None,
        clock_trusted=floor.now().trusted)
