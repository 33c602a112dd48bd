"""The kiosk's frame loop: a live camera read through `LatestFrame` (only the newest frame), or
footage read frame by frame on its own timeline; each frame decoded, and each new text (after
debounce) handed on: a venue card to the venue-card conversation, a person's code to be decided."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from gate.codes.formats import CodeKind, kind_of
from gate.kiosk.capture import FootageClock, LatestFrame
from gate.kiosk.fault_board import FaultBoard
from gate.kiosk.screen import ScreenPublisher, ScreenState
from gate.kiosk.service_mode import ServiceMode
from gate.kiosk.stats import KioskStats
from gate.pipeline import Pipeline, ScanOutcome
from gate.sdnotify import Notifier
from gate.vision.decode import Debouncer, QRDecoder
from gate.vision.sources import Frame, FrameSource, SourceState

log = logging.getLogger("gate.kiosk")


class FrameLoop:
    """Part of `gate.kiosk.loop.Kiosk`: frames in, texts out to the scan and the venue cards."""

    pipeline: Pipeline
    source: FrameSource
    decoder: QRDecoder
    debouncer: Debouncer
    metrics: Any
    footage_clock: FootageClock | None
    stats: KioskStats
    board: FaultBoard
    screen: ScreenPublisher
    service: ServiceMode
    notifier: Notifier
    realtime: bool
    until_t: float | None
    deciding: threading.RLock
    last_frame: Frame | None
    _ready: bool
    _shown_idle: ScreenState | None

    def run(self, stop: threading.Event | None = None) -> KioskStats:
        """Run until `stop` is set or the footage ends; returns what was counted."""
        stop = stop or threading.Event()
        self.pipeline.idle()
        self.board.changed()
        self._shown_idle = self.idle_state()
        self.screen.show(self._shown_idle)
        if self.source.live:
            self._run_live(stop)
        else:
            self._run_footage(stop)
        self.notifier.stopping()
        return self.stats

    def _run_footage(self, stop: threading.Event) -> None:
        started = time.monotonic()
        while not stop.is_set():
            frame = self.source.read()
            if frame is None:
                if self.source.state in (SourceState.ENDED, SourceState.CLOSED):
                    return
                continue
            if self.until_t is not None and frame.t > self.until_t:
                return
            if self.realtime:
                stop.wait(max(0.0, started + frame.t - time.monotonic()))
            if self.footage_clock is not None:
                self.footage_clock.t = frame.t
            self.handle_frame(frame, time.monotonic())

    def _run_live(self, stop: threading.Event) -> None:
        capture = LatestFrame(self.source)
        try:
            while not stop.is_set():
                if capture.source is not self.source:  # a reload opened a new camera
                    capture.stop()
                    capture = LatestFrame(self.source)
                got = capture.get(timeout=0.5)
                if self.metrics is not None:
                    for _ in range(capture.dropped - self.stats.dropped):
                        self.metrics.frame(dropped=True)
                self.stats.dropped = capture.dropped
                if got is None:
                    # Alive while the source says it is reconnecting; a camera that claims to be
                    # open but sends nothing gets no watchdog ping, and systemd restarts us.
                    reconnecting = self.source.state in (SourceState.LOST, SourceState.RECONNECTING)
                    self.tick(processing=reconnecting)
                    continue
                self.handle_frame(*got)
        finally:
            capture.stop()

    # -- one frame --------------------------------------------------------------------------

    def handle_frame(self, frame: Frame, arrived: float) -> list[ScanOutcome]:
        """Decode one frame and act on every new text in it: a person's code is decided, a venue
        card goes to the venue-card conversation."""
        self.stats.frames += 1
        if self.metrics is not None:
            self.metrics.frame(dropped=False)
        if not self._ready:
            self._ready = True
            self.stats.first_frame_at = time.monotonic()
            self.notifier.ready("camera delivers frames")
        self.board.clear("camera_lost")
        self.last_frame = frame
        self._between_scans()  # a confirmed card or a reload is in force before the next person
        try:
            texts = self.decoder.decode(frame.image)
        # A decoder fault is a frame with nothing found: counted, logged, never a reason to open.
        except Exception:  # noqa: BLE001
            self.stats.decoder_errors += 1
            if self.metrics is not None:
                self.metrics.decoder_error()
            log.exception("decoder fault on frame %d; frame skipped", frame.index)
            texts = []
        outcomes: list[ScanOutcome] = []
        shown = False
        with self.deciding:
            for text in self.debouncer.new_scans(texts, frame.t):
                if kind_of(text) is CodeKind.VENUE_CARD:
                    self._venue_card(text)  # never a person's scan: no record, no relay
                    shown = True
                    continue
                if self.service.on:  # out of service: no decision, no record, no relay
                    self.stats.out_of_service += 1
                    log.info("service mode: a code was shown and not decided")
                    continue
                outcome = self._scan(text, arrived)
                if outcome is not None:
                    outcomes.append(outcome)
        if not outcomes and not shown:
            self._idle_view(frame)
        self.tick(processing=True)
        return outcomes
