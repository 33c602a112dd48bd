"""The faults board: which fault codes (gate.faults) are in force, and which the screen shows.

The kiosk's own faults (camera_lost, thermometer_failing, config_rejected) are set and cleared
here with a line of detail; the decision path's and the body's come from `path_faults` (the
pipeline's `gate_faults`). `changed()` says when the set in force differs from what was last
shown, so the screen hears of a change once. Safe from several threads (the kiosk's loop, and the
control channel's, which puts service mode in force).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from gate.faults import fault

log = logging.getLogger(__name__)


class FaultBoard:
    """The fault codes in force at a gate, with the kiosk's own ones' details."""

    def __init__(self, path_faults: Callable[[], list[str]]) -> None:
        self._path_faults = path_faults
        self.own: set[str] = set()
        self.details: dict[str, str] = {}  # code -> the detail for the logs and STATUS=
        self.shown: list[str] | None = None
        self._lock = threading.RLock()

    def set(self, code: str, detail: str) -> None:
        """Put the kiosk's own fault `code` in force (KeyError for a code gate.faults lacks)."""
        fault(code)
        with self._lock:
            self.own.add(code)
            self.details[code] = detail

    def clear(self, code: str) -> None:
        """End the kiosk's own fault `code` (nothing happens when it is not in force)."""
        with self._lock:
            self.own.discard(code)
            self.details.pop(code, None)

    def current(self) -> list[str]:
        """Every fault code in force now: the kiosk's own, the decision path's and the body's."""
        try:
            path = set(self._path_faults())
        except Exception:  # noqa: BLE001  (the fault report must never take the loop down)
            log.warning("could not work out the decision path's faults", exc_info=True)
            path = set()
        with self._lock:
            return sorted(self.own | path)

    def changed(self) -> list[str] | None:
        """The codes in force when they differ from those last shown (now shown), else None."""
        with self._lock:
            codes = self.current()
            if codes == self.shown:
                return None
            self.shown = codes
            return codes

    def status_text(self) -> str:
        """The faults last shown, one detail (or the fault's English line) each, for STATUS=."""
        return "; ".join(self.details.get(code) or fault(code).en for code in (self.shown or []))
