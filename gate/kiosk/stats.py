"""What the kiosk counted, for the summary, the metrics and the benchmark."""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class KioskStats:
    """Frames, scans by decision, venue cards and frame-to-decision times of one run."""

    frames: int = 0
    dropped: int = 0
    decoder_errors: int = 0
    scan_errors: int = 0
    venue_cards: int = 0
    out_of_service: int = 0  # codes shown in service mode: not decided, not recorded
    decisions: Counter = field(default_factory=Counter)
    frame_to_decision_ms: deque = field(default_factory=lambda: deque(maxlen=10_000))
    measure_ms: deque = field(default_factory=lambda: deque(maxlen=10_000))
    first_frame_at: float | None = None

    def summary(self) -> dict[str, Any]:
        """Counts and frame-to-decision times (ms, excluding the thermometer's measuring time)."""
        times = sorted(self.frame_to_decision_ms)
        out: dict[str, Any] = {
            "frames": self.frames,
            "dropped": self.dropped,
            "decoder_errors": self.decoder_errors,
            "scan_errors": self.scan_errors,
            "scans": sum(self.decisions.values()),
            "decisions": dict(self.decisions),
        }
        if self.venue_cards:
            out["venue_cards"] = self.venue_cards
        if self.out_of_service:
            out["out_of_service"] = self.out_of_service
        if times:
            out["frame_to_decision_ms"] = {
                "median": round(statistics.median(times), 2),
                "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
                "max": round(times[-1], 2),
            }
        return out
