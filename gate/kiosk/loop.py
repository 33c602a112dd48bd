"""The kiosk's loop: camera frames in, decisions out, for as long as the gate stands.

Take the newest frame, decode it, and for each new text (after debounce): a person's code is
measured and decided by the decision path (`gate.pipeline`), which records the scan before the
gate moves; a venue card goes to `VenueCards` and never to the decision path. Around it, each job
has one owner: the faults board, the screen publisher, the live view, the housekeeping (systemd,
metrics). The loop asks the pipeline for what it needs through its methods.

`Kiosk` is put together from parts of one job each: `frames.FrameLoop` (frames in, texts out),
`decisions.Decisions` (a person's scan, a venue card) and `servicing.FaultsAndService` (faults, the
camera's state, service mode); this module keeps what holds them together and the loop's tick.

A live camera is read by its own thread that keeps only the newest frame, so a slow decode never
builds a queue of stale frames. Footage (a video file or an image folder) is read frame by frame
on its own timeline, so a run over footage is a repeatable test of the whole appliance.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from gate.kiosk.capture import FootageClock
from gate.kiosk.decisions import Decisions
from gate.kiosk.fault_board import FaultBoard
from gate.kiosk.frames import FrameLoop
from gate.kiosk.housekeeping import STATUS_EVERY_S, Housekeeping
from gate.kiosk.live_view import LiveView
from gate.kiosk.screen import DECISION_SHOWN_S, Display, ScreenPublisher, ScreenState
from gate.kiosk.service_mode import ServiceMode
from gate.kiosk.servicing import FaultsAndService
from gate.kiosk.stats import KioskStats
from gate.kiosk.venue_cards import VenueCards, used_cards_path
from gate.pipeline import Pipeline, ScanOutcome
from gate.sdnotify import Notifier
from gate.vision.decode import Debouncer, QRDecoder
from gate.vision.sources import Frame, FrameSource

log = logging.getLogger("gate.kiosk")


class Kiosk(FrameLoop, Decisions, FaultsAndService):
    """The appliance's main loop over one frame source and one decision path."""

    def __init__(
        self,
        pipeline: Pipeline,
        source: FrameSource,
        *,
        decoder: QRDecoder | None = None,
        debounce_s: float | None = None,
        display: Display | None = None,
        metrics: Any = None,
        notifier: Notifier | None = None,
        footage_clock: FootageClock | None = None,
        on_outcome: Callable[[ScanOutcome], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.decoder = decoder or QRDecoder()
        self.debouncer = Debouncer(pipeline.config.camera.debounce_s if debounce_s is None else debounce_s)
        self.display = display
        self.metrics = metrics
        self.footage_clock = footage_clock
        self.on_outcome = on_outcome
        self.stats = KioskStats()
        self.board = FaultBoard(pipeline.gate_faults)
        self.screen = ScreenPublisher(display)
        self.live_view = LiveView(display)
        self.housekeeping = Housekeeping(notifier or Notifier(), metrics)
        self.cards = VenueCards(
            device_id=lambda: self.pipeline.config.device.id, trust_list=pipeline.trust_list,
            now=pipeline.gate_now, used_path=used_cards_path(pipeline.state_folder()),
            apply=self.apply_settings, can_apply=lambda: self.reloader is not None,
            skew=float(pipeline.config.trust.skew_s))
        self.service = ServiceMode()  # the technician's service mode (spec/setup.md): no scan decided
        # while a card waits the button confirms it; in service mode a press overrides nothing
        pipeline.attendant_button = lambda: self.cards.press() or self.service.on
        self.realtime = False  # footage: play at the footage's own speed (a person is watching)
        self.until_t: float | None = None  # footage: stop after this many seconds of it
        self._ready = False
        self._last_scan = -1e9
        self.deciding = threading.RLock()  # held while a person's scan is decided (setup tests wait)
        self.last_frame: Frame | None = None  # the newest frame, for the setup page's live view
        self.reloader: Any = None  # gate.reload.Reloader: applies a new configuration between scans
        self.idle_extra: dict[str, Any] = {}  # shown with the idle screen (the setup certificate)
        self._shown_idle: ScreenState | None = None

    @property
    def notifier(self) -> Notifier:
        return self.housekeeping.notifier

    # -- around the loop --------------------------------------------------------------------

    def _between_scans(self) -> None:
        step = self.cards.tick()
        if step is not None:
            self.screen.show(step, hold_until=self._now_on_timeline() + DECISION_SHOWN_S)
        if self.reloader is not None:
            self.reloader.apply_pending(self)  # between two scans, never during one

    def tick(self, processing: bool) -> None:
        """Between frames: cards and reloads, service mode's end, systemd's watchdog, and now and
        then the periodic work (time floor, the store's idle check, the fault banner, STATUS= and
        the gauges)."""
        self._between_scans()
        if self.service.expired():
            self._service_changed(False, "its time ran out")
        mono = time.monotonic()
        self.housekeeping.watchdog(processing, mono)
        if self.housekeeping.status_due(mono):
            self.pipeline.tick_clock()
            if mono - self._last_scan >= STATUS_EVERY_S:  # idle: the store checks itself (issue 16)
                self.pipeline.store_idle()
            self.refresh_faults()
            self.housekeeping.report(self.status_line(), self.pipeline.vitals() if self.metrics is not None else None)

    def showing(self) -> bool:
        """True while the panel holds a decision or a venue card's step."""
        return self.screen.held(self._now_on_timeline())

    def _idle_view(self, frame: Frame) -> None:
        now = self._now_on_timeline()
        if self.screen.held(now) or not self.live_view.due(now):
            return
        idle = self.idle_state()
        if self.screen.release() or idle != self._shown_idle:  # a decision ended, or the bulletin in force changed
            self._shown_idle = idle
            self.screen.show(idle)
        self.live_view.push(frame, now)

    def idle_state(self) -> ScreenState:
        """The idle screen: faults, `idle_extra` (the setup certificate) and the decision path's
        `idle_view()` (the bulletin in force and its note)."""
        try:
            view = self.pipeline.idle_view()
        except Exception:  # noqa: BLE001  (the screen must never take the loop down)
            log.warning("could not work out the idle view", exc_info=True)
            view = {}
        return ScreenState.idle(self.board.shown, {**self.idle_extra, **view})

    def _now_on_timeline(self) -> float:
        return self.footage_clock.t if self.footage_clock is not None else time.monotonic()

