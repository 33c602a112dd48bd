"""The kiosk's Prometheus metrics, in a registry of their own (never the process-wide default one).

The kiosk owns one `GateMetrics` and calls its verbs as things happen (`scan`, `frame`,
`decoder_error`, `set_queue`, `set_trust`, `set_clock_trusted`); the display server's `/metrics`
route renders `registry`. Ages (the oldest undelivered record, the trust list) keep growing
between two updates: they are worked out when scraped, from the age given at the last update and
the monotonic time since, so a kiosk that updates them once a minute still reports the truth.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from gate.vocabulary import DECISIONS

# Frame-to-decision: 5 ms to 500 ms, tighter where the goal (p95 under 50 ms) is.
FRAME_TO_DECISION_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _GrowingAge:
    """An age in seconds that was `age_s` at a monotonic instant and grows from there."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._age_s: float | None = None
        self._at = 0.0

    def set(self, age_s: float | None) -> None:
        with self._lock:
            self._age_s = None if age_s is None else max(0.0, float(age_s))
            self._at = self._clock()

    def value(self) -> float:
        with self._lock:
            if self._age_s is None:
                return math.nan
            return self._age_s + max(0.0, self._clock() - self._at)


class GateMetrics:
    """Every metric the kiosk exports, in `self.registry` (a fresh CollectorRegistry).

    `clock` is a monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.scans = Counter("gate_scans", "Scans decided, by decision.", ["decision"], registry=r)
        for decision in DECISIONS:
            self.scans.labels(decision=decision)  # every decision shows, at 0, from the start
        self.frame_to_decision = Histogram(
            "gate_frame_to_decision_seconds",
            "Time from the frame that showed a code to the committed decision.",
            buckets=FRAME_TO_DECISION_BUCKETS, registry=r,
        )
        self.frames_processed = Counter(
            "gate_frames_processed", "Camera frames run through the decoder.", registry=r)
        self.frames_dropped = Counter(
            "gate_frames_dropped",
            "Camera frames never decoded (a newer frame replaced them first).", registry=r)
        self.decoder_errors = Counter(
            "gate_decoder_errors", "Frames skipped because the decoder raised.", registry=r)
        self.queue_depth = Gauge(
            "gate_queue_depth", "Records waiting to be uploaded to the collector.", registry=r)
        self.queue_oldest_age = Gauge(
            "gate_queue_oldest_age_seconds",
            "Age of the oldest record not yet delivered (NaN when none is waiting).", registry=r)
        self.trust_version = Gauge(
            "gate_trust_list_version", "Version of the trust list in force (0: none).", registry=r)
        self.trust_age = Gauge(
            "gate_trust_list_age_seconds",
            "Seconds since the trust list in force was issued (NaN: no list).", registry=r)
        self.clock_trusted = Gauge(
            "gate_clock_trusted", "1 when the gate's clock is trusted, else 0.", registry=r)

        self._queue_age = _GrowingAge(clock)
        self._trust_age = _GrowingAge(clock)
        self.queue_oldest_age.set_function(self._queue_age.value)
        self.trust_age.set_function(self._trust_age.value)
        self._queue_age.set(None)
        self._trust_age.set(None)

    def scan(self, decision: str, frame_to_decision_s: float | None) -> None:
        """Count one decided scan; `frame_to_decision_s` None when there was no frame (replay)."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
        self.scans.labels(decision=decision).inc()
        if frame_to_decision_s is not None:
            self.frame_to_decision.observe(max(0.0, frame_to_decision_s))

    def frame(self, dropped: bool = False) -> None:
        """Count one camera frame: decoded (`dropped` False) or replaced before it was decoded."""
        (self.frames_dropped if dropped else self.frames_processed).inc()

    def decoder_error(self) -> None:
        """Count one frame the decoder raised on (the frame is skipped, the loop goes on)."""
        self.decoder_errors.inc()

    def set_queue(self, depth: int, oldest_age_s: float | None) -> None:
        """The upload queue now: `depth` records, the oldest `oldest_age_s` seconds old (None: empty)."""
        self.queue_depth.set(depth)
        self._queue_age.set(oldest_age_s if depth else None)

    def set_trust(self, version: int | None, age_s: float | None) -> None:
        """The trust list in force: its version and age in seconds (None, None: no list)."""
        self.trust_version.set(version or 0)
        self._trust_age.set(age_s)

    def set_clock_trusted(self, trusted: bool) -> None:
        """Whether the gate's clock is trusted (clock.py)."""
        self.clock_trusted.set(1 if trusted else 0)

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (CONTENT_TYPE)."""
        return generate_latest(self.registry)
