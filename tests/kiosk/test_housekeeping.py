"""Housekeeping: systemd's watchdog while the loop works, the periodic work when due, and the
metrics' gauges from the decision path's figures."""

from __future__ import annotations

from gate.kiosk.housekeeping import Housekeeping
from gate.pipeline import Vitals


class Notes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def watchdog(self) -> None:
        self.sent.append(("watchdog", ""))

    def status(self, line: str) -> None:
        self.sent.append(("status", line))


class Gauges:
    def __init__(self) -> None:
        self.set: dict[str, tuple] = {}

    def set_queue(self, depth, age):
        self.set["queue"] = (depth, age)

    def set_trust(self, version, age):
        self.set["trust"] = (version, age)

    def set_clock_trusted(self, trusted):
        self.set["clock"] = (trusted,)


def test_the_watchdog_is_pinged_only_while_the_loop_works_and_not_too_often():
    notes = Notes()
    keeper = Housekeeping(notes)  # type: ignore[arg-type]
    keeper.watchdog(processing=False, mono=100.0)
    keeper.watchdog(processing=True, mono=100.0)
    keeper.watchdog(processing=True, mono=100.0 + keeper.watchdog_every_s / 2)
    assert notes.sent == [("watchdog", "")]


def test_the_periodic_work_is_due_once_per_interval():
    keeper = Housekeeping(Notes(), status_every_s=5.0)  # type: ignore[arg-type]
    assert keeper.status_due(100.0)
    assert not keeper.status_due(104.0)
    assert keeper.status_due(105.0)


def test_the_report_sends_status_and_the_gauges_it_knows():
    notes, gauges = Notes(), Gauges()
    keeper = Housekeeping(notes, gauges)  # type: ignore[arg-type]
    keeper.report("3 frames", Vitals(queue_depth=None, oldest_pending_age_s=None, trust_version=4, trust_age_s=60.0,
                                     clock_trusted=False))
    assert notes.sent == [("status", "3 frames")]
    assert gauges.set == {"trust": (4, 60.0), "clock": (False,)}  # no store: no queue gauge
