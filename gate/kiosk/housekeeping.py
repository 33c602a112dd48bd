"""The kiosk's housekeeping: systemd's watchdog and STATUS= line, and the metrics' gauges.

The loop calls `watchdog()` on each pass and asks `status_due()` whether it is time for the
periodic work (the time floor, the store's idle check, the fault banner); then `report()` sends
the status line and the decision path's figures (gate.pipeline.Vitals) out.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gate.sdnotify import Notifier, watchdog_interval_s

log = logging.getLogger(__name__)

STATUS_EVERY_S = 5.0  # systemd STATUS= and queue metrics refresh


class Housekeeping:
    """Keeps systemd and the metrics told, on the monotonic clock."""

    def __init__(self, notifier: Notifier, metrics: Any = None, status_every_s: float = STATUS_EVERY_S) -> None:
        self.notifier = notifier
        self.metrics = metrics
        self.status_every_s = status_every_s
        self.watchdog_every_s = watchdog_interval_s() or 1.0
        self._last_watchdog = -1e9
        self._last_status = -1e9

    def watchdog(self, processing: bool, mono: float | None = None) -> None:
        """Ping systemd's watchdog, at most every half its interval, while the loop works."""
        mono = time.monotonic() if mono is None else mono
        if processing and mono - self._last_watchdog >= self.watchdog_every_s:
            self._last_watchdog = mono
            self.notifier.watchdog()

    def status_due(self, mono: float | None = None) -> bool:
        """True (once per `status_every_s`) when the periodic work is due."""
        mono = time.monotonic() if mono is None else mono
        if mono - self._last_status < self.status_every_s:
            return False
        self._last_status = mono
        return True

    def report(self, status_line: str, vitals: Any = None) -> None:
        """STATUS= for systemd, and the gauges from `vitals` (gate.pipeline.Vitals)."""
        self.notifier.status(status_line)
        if self.metrics is None or vitals is None:
            return
        if vitals.queue_depth is not None:
            self.metrics.set_queue(vitals.queue_depth, vitals.oldest_pending_age_s or 0.0)
        if vitals.trust_version is not None:
            self.metrics.set_trust(vitals.trust_version, vitals.trust_age_s or 0.0)
        self.metrics.set_clock_trusted(vitals.clock_trusted)
