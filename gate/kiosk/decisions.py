"""What the kiosk does with a text it read: a person's scan decided by the decision path (timed,
counted, shown), a venue card's step shown, and a venue card's settings put in force."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from gate.config import ConfigError
from gate.configfile import edit_config
from gate.directives.card_flow import CONFIRM_S
from gate.hardware.thermometer import Reading
from gate.kiosk.fault_board import FaultBoard
from gate.kiosk.screen import DECISION_SHOWN_S, ScreenPublisher, ScreenState
from gate.kiosk.stats import KioskStats
from gate.kiosk.venue_cards import VenueCards
from gate.pipeline import Pipeline, ScanOutcome

log = logging.getLogger("gate.kiosk")


class Decisions:
    """Part of `gate.kiosk.loop.Kiosk`: a person's scan and a venue card, once read."""

    pipeline: Pipeline
    metrics: Any
    stats: KioskStats
    board: FaultBoard
    screen: ScreenPublisher
    cards: VenueCards
    on_outcome: Callable[[ScanOutcome], None] | None
    reloader: Any
    _last_scan: float

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
