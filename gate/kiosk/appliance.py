"""The appliance a configuration describes: frame source, decision path, screen, metrics and the
kiosk's loop, assembled and closed together.

Only what a gate in service needs is imported here: a run over footage is told its start and
its scripted thermometer by the caller (`FootagePlan`, made by gate.footage for `gate run` and
`gate demo`); nothing here reads scripts or makes footage (gate.footage, gate.demo,
gate.vision.synthetic).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from gate.hardware.thermometer import open_thermometer
from gate.kiosk.capture import FootageClock, FootagePlan
from gate.kiosk.loop import Kiosk
from gate.metrics import GateMetrics
from gate.pipeline import Pipeline, ScanOutcome, open_pipeline
from gate.vision.sources import FrameSource, SourceState, open_source

log = logging.getLogger("gate.kiosk")


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
    footage: FootagePlan | None = None,
    screen: Callable[[int], Any] | None = None,
) -> Appliance:
    """Build the appliance a configuration describes.

    Footage (a video file or image folder) runs on its own timeline: its clock starts at
    `footage.start_epoch` (or now), the thermometer is `footage.thermometer` when one is given
    and the sensor is simulated, the time floor is not kept, and the pins are simulated unless
    `simulate_io` says otherwise. Unless `headless`, `screen(display_port)` makes the screen's
    server (gate.display.DisplayServer, given by the command: the kiosk never imports the screen),
    which is started here. Raises SourceError, TrustError and HardwareError for a
    gate that cannot start; a screen whose port is taken is logged and left out.
    """
    holder: dict[str, Kiosk] = {}

    def on_state(state: SourceState, detail: str) -> None:
        if "kiosk" in holder:
            holder["kiosk"].camera_state(state, detail)

    source = open_source(config.camera, on_state=on_state)
    footage_clock = None
    thermometer = None
    if not source.live:
        plan = footage or FootagePlan()
        footage_clock = FootageClock(plan.start_epoch if plan.start_epoch is not None else time.time())
        if plan.thermometer is not None and config.temperature.sensor == "simulated":
            clock = footage_clock
            thermometer = plan.thermometer(lambda: clock.t)
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
    if not headless and screen is None:
        log.error("no screen server given; running without a screen")
    elif not headless:
        display = screen(display_port)
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
