"""Frames in: the newest frame of a live camera, and the clock of a run over footage."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from gate.hardware.thermometer import Thermometer
from gate.vision.sources import Frame, FrameSource, SourceState


@dataclass(frozen=True)
class FootagePlan:
    """What a run over footage is told from outside the appliance (its sidecar script, which
    gate.footage reads for `gate run` and `gate demo`): when the footage starts (epoch seconds;
    None: now), and the simulated thermometer that reads what the script says, made with the
    footage's clock (a function returning seconds into the footage). The appliance never reads
    scripts itself."""

    start_epoch: float | None = None
    thermometer: Callable[[Callable[[], float]], Thermometer] | None = None


class FootageClock:
    """The wall clock of a run over footage: the footage's start time plus the frame's time."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.t = 0.0

    def __call__(self) -> float:
        return self.origin + self.t


class LatestFrame:
    """A capture thread that keeps only the newest frame of a live camera."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.dropped = 0
        self._frame: tuple[Frame, float] | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gate-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self.source.state not in (SourceState.ENDED, SourceState.CLOSED):
            frame = self.source.read()
            if frame is None:
                continue  # a lost camera: the source itself waits and retries with backoff
            with self._cond:
                if self._frame is not None:
                    self.dropped += 1
                self._frame = (frame, time.monotonic())
                self._cond.notify()

    def get(self, timeout: float) -> tuple[Frame, float] | None:
        """The newest frame not yet taken and when it arrived (monotonic), or None after `timeout`."""
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
