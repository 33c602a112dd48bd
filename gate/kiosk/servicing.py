"""The kiosk's faults and service mode: the fault codes in force and on the screen, the camera's
state, and the technician's service mode (spec/setup.md) turned on and off."""

from __future__ import annotations

import logging
import threading
from typing import Any

from gate.kiosk.fault_board import FaultBoard
from gate.kiosk.screen import ScreenPublisher, ScreenState
from gate.kiosk.service_mode import LEASE_S, ServiceMode
from gate.kiosk.stats import KioskStats
from gate.pipeline import Pipeline
from gate.sdnotify import Notifier
from gate.vision.sources import SourceState

log = logging.getLogger("gate.kiosk")


class FaultsAndService:
    """Part of `gate.kiosk.loop.Kiosk`: its faults, the camera's state and service mode."""

    pipeline: Pipeline
    stats: KioskStats
    board: FaultBoard
    screen: ScreenPublisher
    service: ServiceMode
    notifier: Notifier
    deciding: threading.RLock
    _shown_idle: ScreenState | None

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
