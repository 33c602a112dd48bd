"""The kiosk's loop: camera frames in, decisions out, for as long as the gate stands.

Take the newest frame, decode it, and for each new text (after debounce): a person's code is
measured and decided by the decision path (`gate.pipeline`), which records the scan before the
gate moves; a venue card goes to `VenueCards` and never to the decision path. Around it, each job
has one owner: the faults board, the screen publisher, the live view, the housekeeping (systemd,
metrics). The loop asks the pipeline for what it needs through its methods.

A live camera is read by its own thread that keeps only the newest frame, so a slow decode never
builds a queue of stale frames. Footage (a video file or an image folder) is read frame by frame
on its own timeline, so a run over footage is a repeatable test of the whole appliance.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from gate.codes.formats import CodeKind, kind_of
from gate.config import ConfigError
from gate.directives.card_flow import CONFIRM_S
from gate.hardware.thermometer import Reading
from gate.kiosk.capture import FootageClock, LatestFrame
from gate.kiosk.fault_board import FaultBoard
from gate.kiosk.housekeeping import STATUS_EVERY_S, Housekeeping
from gate.kiosk.live_view import LiveView
from gate.kiosk.screen import DECISION_SHOWN_S, Display, ScreenPublisher, ScreenState
from gate.kiosk.service_mode import LEASE_S, ServiceMode
from gate.kiosk.stats import KioskStats
from gate.kiosk.venue_cards import VenueCards, used_cards_path
from gate.pipeline import Pipeline, ScanOutcome
from gate.sdnotify import Notifier
from gate.vision.decode import Debouncer, QRDecoder
from gate.vision.sources import Frame, FrameSource, SourceState

log = logging.getLogger("gate.kiosk")


class Kiosk:
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

    # -- the loop ---------------------------------------------------------------------------

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

    def _scan(self, text: str, arrived: float) -> ScanOutcome | None:
        measure_start = time.monotonic()
        reading: Reading = self.pipeline.measure()
        measured = time.monotonic() - measure_start
        try:
            outcome = self.pipeline.scan(text, reading=reading)
        # The decision path records its own failures; anything else must not stop the appliance.
        # The gate is already shut: nothing but a committed allow moves the relay.
        except Exception:  # noqa: BLE001
            self.stats.scan_errors += 1
            log.exception("scan failed; the gate stays shut")
            return None
        elapsed = time.monotonic() - arrived - measured
        self._last_scan = time.monotonic()
        self.stats.decisions[outcome.decision.decision] += 1
        self.stats.frame_to_decision_ms.append(elapsed * 1000)
        self.stats.measure_ms.append(measured * 1000)
        if reading.state == "sensor_fault":
            self.board.set("thermometer_failing", f"thermometer: {reading.error or 'no reading'}")
        else:
            self.board.clear("thermometer_failing")
        self.refresh_faults()
        if self.metrics is not None:
            self.metrics.scan(outcome.decision.decision, elapsed)
        log.info("scan %s: %s %s (%.1f ms)", outcome.record.id, outcome.decision.decision,
                 ",".join(outcome.decision.reasons), elapsed * 1000)
        self.screen.show(ScreenState.for_decision(outcome), hold_until=self._now_on_timeline() + DECISION_SHOWN_S)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    # -- venue cards ------------------------------------------------------------------------

    def _venue_card(self, text: str) -> None:
        self.stats.venue_cards += 1
        state = self.cards.shown(text)
        waiting = state.card is not None and state.card.stage == "confirm"
        hold = (state.card.seconds_left or CONFIRM_S) if waiting and state.card else DECISION_SHOWN_S
        self.screen.show(state, hold_until=self._now_on_timeline() + hold)

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Write `settings` ("section.key" -> value) into the configuration file through the one
        writer (gate.configfile) and put it in force now through the reloader. Raises, with one
        line, when the file would not be valid (nothing written) or the reload refused it."""
        from gate.configfile import edit_config

        if self.reloader is None:
            raise ConfigError("this gate runs without a configuration file to write")
        written = edit_config(self.reloader.path, settings, startable=True)
        if written.errors:
            raise ConfigError(written.errors[0])
        log.info("configuration %s changed by a venue card: %s", self.reloader.path,
                 ", ".join(f"{k} {before!r} -> {after!r}" for k, (before, after) in written.changed.items())
                 or "nothing")
        generation = self.reloader.request()
        done = self.reloader.apply_pending(self)
        if done is None or done.generation < generation or not done.ok:
            raise ConfigError("written but not put in force: " + (done.errors[0] if done and done.errors else "reload refused"))

    # -- service mode -----------------------------------------------------------------------

    def start_service(self, lease_s: float = LEASE_S) -> dict[str, Any]:
        """Take the gate out of service (or renew the lease) for `lease_s` seconds: the scan in
        hand is finished first; then the screen says so and no scan is decided. Its state."""
        with self.deciding:  # the scan in hand is finished first
            started = self.service.start(lease_s)
        if started:
            self._service_changed(True, "turned on from the setup page")
        return self.service.state().to_json()

    def end_service(self, why: str) -> dict[str, Any]:
        """Put the gate back in service now, saying why (in the logs); its state."""
        if self.service.end(why):
            self._service_changed(False, why)
        return self.service.state().to_json()

    def _service_changed(self, on: bool, why: str) -> None:
        if on:
            self.board.set("in_service_mode", "out of service: the technician is working on the gate")
        else:
            self.board.clear("in_service_mode")
        log.warning("service mode %s: %s", "on" if on else "off", why)
        self.pipeline.idle()  # lights out: no decision's light stays on
        self.screen.release()
        self.refresh_faults()
        self._shown_idle = self.idle_state()
        self.screen.show(self._shown_idle)

    # -- around the loop --------------------------------------------------------------------

    def camera_state(self, state: SourceState, detail: str) -> None:
        """Source state callback: a lost camera shows on the screen and the lights, never opens."""
        if state in (SourceState.LOST, SourceState.RECONNECTING):
            self.board.set("camera_lost", f"camera {state.value}: {detail}")
            self.pipeline.show_fault_lights()
            self.refresh_faults()
            self.notifier.status(f"camera {state.value}: {detail}")
        elif state is SourceState.OPEN:
            self.board.clear("camera_lost")
            self.pipeline.idle()
            self.refresh_faults()

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

    # -- faults -----------------------------------------------------------------------------

    def current_faults(self) -> list[str]:
        """Every fault code in force now: the kiosk's own, the body's parts' (a missing sound card) and
        the decision path's (lists, clock, store)."""
        return self.board.current()

    def refresh_faults(self) -> list[str]:
        """Publish the faults in force to the screen when they changed; returns them."""
        codes = self.board.changed()
        if codes is not None:
            self.screen.show(ScreenState.fault(codes))
            return codes
        return list(self.board.shown or [])

    def set_fault(self, code: str, detail: str) -> None:
        """Put the kiosk's own fault `code` in force, with one line of detail for the logs and status."""
        self.board.set(code, detail)

    def clear_fault(self, code: str) -> None:
        """End the kiosk's own fault `code` (nothing happens when it is not in force)."""
        self.board.clear(code)

    @property
    def faults(self) -> set[str]:
        """The kiosk's own faults in force (camera_lost, thermometer_failing, config_rejected)."""
        return self.board.own

    @property
    def fault_details(self) -> dict[str, str]:
        return self.board.details

    def status_line(self) -> str:
        """One line for systemd's STATUS= and the logs."""
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(self.stats.decisions.items())) or "no scans yet"
        faults = self.board.status_text()
        return f"{self.stats.frames} frames, {decisions}" + (f"; FAULT {faults}" if faults else "")
