"""The kiosk: camera frames in, decisions out, for as long as the gate stands.

One loop: take the newest frame, decode it, and for each new code (after debounce) measure the
temperature and run the decision path (`gate.pipeline`), which records the scan before the gate
moves. Around it: the screen, metrics, systemd's watchdog, and faults that never open the gate
and never stop the appliance.

A live camera is read by its own thread that keeps only the newest frame, so a slow decode never
builds a queue of stale frames. Footage (a video file or an image folder) is read frame by frame
on its own timeline, so a run over footage is a repeatable test of the whole appliance.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2

from gate.faults import fault
from gate.hardware.thermometer import Reading
from gate.pipeline import Pipeline, ScanOutcome
from gate.sdnotify import Notifier, watchdog_interval_s
from gate.vision.decode import Debouncer, QRDecoder
from gate.vision.sources import Frame, FrameSource, SourceState

log = logging.getLogger(__name__)

DECISION_SHOWN_S = 4.0  # how long a decision stays on the screen before the live view returns
LIVE_VIEW_EVERY_S = 0.25  # live view frames pushed to the screen while idle
STATUS_EVERY_S = 5.0  # systemd STATUS= and queue metrics refresh


class Display(Protocol):
    """What the kiosk needs of the screen (gate.display.DisplayServer)."""

    def publish(self, state: dict[str, Any]) -> None: ...

    def publish_frame(self, jpeg: bytes) -> None: ...


class FootageClock:
    """The wall clock of a run over footage: the footage's start time plus the frame's time."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.t = 0.0

    def __call__(self) -> float:
        return self.origin + self.t


@dataclass
class KioskStats:
    """What the kiosk counted, for the summary, the metrics and the benchmark."""

    frames: int = 0
    dropped: int = 0
    decoder_errors: int = 0
    scan_errors: int = 0
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
        if times:
            out["frame_to_decision_ms"] = {
                "median": round(statistics.median(times), 2),
                "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
                "max": round(times[-1], 2),
            }
        return out


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
        self.notifier = notifier or Notifier()
        self.footage_clock = footage_clock
        self.on_outcome = on_outcome
        self.stats = KioskStats()
        self.realtime = False  # footage: play at the footage's own speed (a person is watching)
        self.until_t: float | None = None  # footage: stop after this many seconds of it
        self.faults: set[str] = set()  # what the kiosk itself sees: camera_lost, thermometer_failing
        self.fault_details: dict[str, str] = {}  # code -> the detail for the logs and STATUS=
        self._shown_faults: list[str] | None = None
        self._ready = False
        self._shown_until = 0.0
        self._last_live_view = -1e9
        self._last_watchdog = -1e9
        self._last_status = -1e9
        self._last_scan = -1e9
        self._watchdog_every = watchdog_interval_s() or 1.0
        self.deciding = threading.RLock()  # held while a person's scan is decided (setup tests wait)
        self.last_frame: Frame | None = None  # the newest frame, for the setup page's live view
        self.reloader: Any = None  # gate.reload.Reloader: applies a new configuration between scans
        self.idle_extra: dict[str, Any] = {}  # shown with the idle screen (the setup certificate)
        self._shown_idle: dict[str, Any] | None = None

    # -- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> KioskStats:
        """Run until `stop` is set or the footage ends; returns what was counted."""
        stop = stop or threading.Event()
        self.pipeline.body.idle()
        self._shown_faults = self.current_faults()
        self._shown_idle = self.idle_state()
        self._publish(self._shown_idle)
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
                    self._tick(time.monotonic(), processing=reconnecting)
                    continue
                self.handle_frame(*got)
        finally:
            capture.stop()

    # -- one frame --------------------------------------------------------------------------

    def handle_frame(self, frame: Frame, arrived: float) -> list[ScanOutcome]:
        """Decode one frame and decide on every new code in it."""
        self.stats.frames += 1
        if self.metrics is not None:
            self.metrics.frame(dropped=False)
        if not self._ready:
            self._ready = True
            self.stats.first_frame_at = time.monotonic()
            self.notifier.ready("camera delivers frames")
        self.clear_fault("camera_lost")
        self.last_frame = frame
        try:
            texts = self.decoder.decode(frame.image)
        # A decoder fault is a frame with nothing found: counted, logged, never a reason to open.
        except Exception:  # noqa: BLE001
            self.stats.decoder_errors += 1
            if self.metrics is not None:
                self.metrics.decoder_error()
            log.exception("decoder fault on frame %d; frame skipped", frame.index)
            texts = []
        with self.deciding:
            outcomes = [self._scan(text, arrived) for text in self.debouncer.new_scans(texts, frame.t)]
        outcomes = [o for o in outcomes if o is not None]
        if not outcomes:
            self._maybe_live_view(frame)
        self._tick(frame.t if not self.source.live else time.monotonic(), processing=True)
        return outcomes

    def _scan(self, text: str, arrived: float) -> ScanOutcome | None:
        measure_start = time.monotonic()
        reading: Reading = self.pipeline.thermometer.read()
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
            self.set_fault("thermometer_failing", f"thermometer: {reading.error or 'no reading'}")
        else:
            self.clear_fault("thermometer_failing")
        self.refresh_faults()
        if self.metrics is not None:
            self.metrics.scan(outcome.decision.decision, elapsed)
        log.info("scan %s: %s %s (%.1f ms)", outcome.record.id, outcome.decision.decision,
                 ",".join(outcome.decision.reasons), elapsed * 1000)
        self._shown_until = self._now_on_timeline() + DECISION_SHOWN_S
        self._publish(decision_state(outcome))
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    # -- around the loop --------------------------------------------------------------------

    def camera_state(self, state: SourceState, detail: str) -> None:
        """Source state callback: a lost camera shows on the screen and the lights, never opens."""
        if state in (SourceState.LOST, SourceState.RECONNECTING):
            self.set_fault("camera_lost", f"camera {state.value}: {detail}")
            if self.pipeline.body.lights is not None:
                self.pipeline.body.lights.show("yellow", blink=True)
            self.refresh_faults()
            self.notifier.status(f"camera {state.value}: {detail}")
        elif state is SourceState.OPEN:
            self.clear_fault("camera_lost")
            self.pipeline.body.idle()
            self.refresh_faults()

    # -- faults -----------------------------------------------------------------------------

    def current_faults(self) -> list[str]:
        """Every fault code in force now: the kiosk's own, the body's parts' (a missing sound card) and the
        decision path's (lists, clock, store)."""
        try:
            path_faults = set(self.pipeline.faults()) | set(self.pipeline.body.faults)
        except Exception:  # noqa: BLE001  (the fault report must never take the loop down)
            log.warning("could not work out the decision path's faults", exc_info=True)
            path_faults = set()
        return sorted(self.faults | path_faults)

    def refresh_faults(self) -> list[str]:
        """Publish the faults in force to the screen when they changed; returns them."""
        codes = self.current_faults()
        if codes != self._shown_faults:
            self._shown_faults = codes
            self._publish({"kind": "fault", "faults": codes})
        return codes

    def set_fault(self, code: str, detail: str) -> None:
        """Put the kiosk's own fault `code` in force, with one line of detail for the logs and status."""
        fault(code)
        self.faults.add(code)
        self.fault_details[code] = detail

    def clear_fault(self, code: str) -> None:
        """End the kiosk's own fault `code` (nothing happens when it is not in force)."""
        self.faults.discard(code)
        self.fault_details.pop(code, None)

    def _now_on_timeline(self) -> float:
        return self.footage_clock.t if self.footage_clock is not None else time.monotonic()

    def _maybe_live_view(self, frame: Frame) -> None:
        now = self._now_on_timeline()
        if self.display is None or now < self._shown_until or now - self._last_live_view < LIVE_VIEW_EVERY_S:
            return
        self._last_live_view = now
        idle = self.idle_state()
        if self._shown_until or idle != self._shown_idle:  # a decision ended, or the bulletin in force changed
            self._shown_until = 0.0
            self._shown_idle = idle
            self._publish(idle)
        small = cv2.resize(frame.image, (320, 240), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 60])
        if ok:
            self.display.publish_frame(jpeg.tobytes())

    def idle_state(self) -> dict[str, Any]:
        """The idle screen: faults, `idle_extra` (the setup certificate) and the decision path's
        `idle_view()` (the bulletin in force and its note)."""
        try:
            view = self.pipeline.idle_view()
        except Exception:  # noqa: BLE001  (the screen must never take the loop down)
            log.warning("could not work out the idle view", exc_info=True)
            view = {}
        return {"kind": "idle", "faults": self._shown_faults or [], **self.idle_extra, **view}

    def _tick(self, now: float, processing: bool) -> None:
        if self.reloader is not None:
            self.reloader.apply_pending(self)  # between two scans, never during one
        mono = time.monotonic()
        if processing and mono - self._last_watchdog >= self._watchdog_every:
            self._last_watchdog = mono
            self.notifier.watchdog()
        if mono - self._last_status >= STATUS_EVERY_S:
            self._last_status = mono
            self.pipeline.floor.tick()
            if mono - self._last_scan >= STATUS_EVERY_S:  # idle: the store checks itself (issue 16)
                self.pipeline.store_idle()
            self.refresh_faults()
            self.notifier.status(self.status_line())
            self._update_metrics()

    def status_line(self) -> str:
        """One line for systemd's STATUS= and the logs."""
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(self.stats.decisions.items())) or "no scans yet"
        faults = "; ".join(self.fault_details.get(code) or fault(code).en for code in (self._shown_faults or []))
        return f"{self.stats.frames} frames, {decisions}" + (f"; FAULT {faults}" if faults else "")

    def _update_metrics(self) -> None:
        if self.metrics is None:
            return
        store = self.pipeline.store
        if store is not None:
            try:
                oldest = store.oldest_pending_scanned_at()
                from gate.record import parse_iso_utc

                age = max(0.0, time.time() - parse_iso_utc(oldest)) if oldest else 0.0
                self.metrics.set_queue(store.queue_depth(), age)
            except Exception:  # noqa: BLE001  (metrics must never take the loop down)
                log.warning("queue metrics unavailable", exc_info=True)
        trust = self.pipeline.trust.trust_list
        if trust is not None:
            self.metrics.set_trust(trust.version, max(0.0, time.time() - trust.issued_at))
        self.metrics.set_clock_trusted(self.pipeline.floor.now().trusted)

    def _publish(self, state: dict[str, Any]) -> None:
        if self.display is None:
            return
        try:
            self.display.publish(state)
        except Exception:  # noqa: BLE001  (a screen fault must not stop the gate)
            log.warning("screen update failed", exc_info=True)


def decision_state(outcome: ScanOutcome) -> dict[str, Any]:
    """What the screen shows for one decision."""
    return {
        "kind": "decision",
        "decision": outcome.decision.decision,
        "reasons": list(outcome.decision.reasons),
        "message_zh": outcome.decision.message_zh,
        "message_en": outcome.decision.message_en,
        "temperature_c": outcome.reading.temperature_c,
        "name": outcome.code.name,
        "status": outcome.code.status,
        "clock_trusted": outcome.gate_time.trusted,
        "at": outcome.record.scanned_at,
        "record_id": outcome.record.id if outcome.committed else None,
    }


@dataclass
class Appliance:
    """A kiosk and the parts it was assembled from, closed together (gate shut first)."""

    kiosk: Kiosk
    pipeline: Pipeline
    source: FrameSource
    display: Any = None
    metrics: Any = None

    def close(self) -> None:
        """Relay off, devices closed, screen stopped; safe to call twice."""
        self.pipeline.close()
        self.source.close()
        if self.kiosk.source is not self.source:  # a reload opened another camera
            self.kiosk.source.close()
        if self.display is not None:
            self.display.stop()


def assemble(
    config: Any,
    *,
    headless: bool = True,
    simulate_io: bool | None = None,
    on_outcome: Callable[[ScanOutcome], None] | None = None,
    display_port: int = 8080,
    db_path: Any = None,
) -> Appliance:
    """Build the appliance a configuration describes.

    Footage (a video file or image folder) runs on its own timeline: its clock starts at the
    sidecar's `start_epoch` (or now), the time floor is not kept, and the pins are simulated
    unless `simulate_io` says otherwise. Raises SourceError, TrustError and HardwareError for a
    gate that cannot start; a screen whose port is taken is logged and left out.
    """
    from gate.demo import ScriptedThermometer, load_script
    from gate.hardware.thermometer import open_thermometer
    from gate.metrics import GateMetrics
    from gate.pipeline import open_pipeline
    from gate.vision.sources import open_source

    holder: dict[str, Kiosk] = {}

    def on_state(state: SourceState, detail: str) -> None:
        if "kiosk" in holder:
            holder["kiosk"].camera_state(state, detail)

    source = open_source(config.camera, on_state=on_state)
    footage_clock = None
    thermometer = None
    if not source.live:
        script = load_script(Path(str(config.camera.source)))
        footage_clock = FootageClock(float(script["start_epoch"]) if script else time.time())
        if script and config.temperature.sensor == "simulated":
            clock = footage_clock
            thermometer = ScriptedThermometer(script.get("people", []), lambda: clock.t, config.temperature.simulated_c)
    simulated = (not source.live) if simulate_io is None else simulate_io
    try:
        pipeline = open_pipeline(
            config,
            db_path=db_path,
            simulated_io=simulated,
            thermometer=thermometer or open_thermometer(config.temperature),
            persist_floor=source.live,
            clock=footage_clock or time.time,
        )
    except BaseException:
        source.close()
        raise
    metrics = GateMetrics()
    display = None
    if not headless:
        from gate.display.server import DisplayServer

        display = DisplayServer(port=display_port)
        display.set_metrics_registry(metrics.registry)
        try:
            display.start()
        except OSError as exc:
            # The gate decides without its screen (lights and buzzer still say what to do).
            log.error("screen not served on port %d: %s; running without it", display_port, exc)
            display = None
    kiosk = Kiosk(pipeline, source, display=display, metrics=metrics, footage_clock=footage_clock,
                  on_outcome=on_outcome)
    holder["kiosk"] = kiosk
    return Appliance(kiosk, pipeline, source, display, metrics)
