"""Trusted time and the time floor (health-code.md §5).

A gate may boot offline with no battery-backed clock and a time days old, which would let an
expired code through. The floor is the greatest of: the last time the gate saved, the
`issued_at` of the lists in force, and the `iat` of the newest validly signed code less the skew.
Below the floor the system clock is not trusted: the gate verifies against the floor instead and
says so on every record.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gate.fileio import read_regular, replace_atomically

# How far the floor may run ahead of what is on disk before it is written again: bounds the
# writes to one per minute of progress, and the loss after a power cut to one minute.
SAVE_STEP_S = 60.0
FLOOR_FILE_MAX = 4096
log = logging.getLogger(__name__)  # {"floor": ...} is a few dozen bytes


@dataclass(frozen=True, slots=True)
class GateTime:
    """The time a decision is taken at, and whether the system clock could be trusted for it."""

    now: float
    trusted: bool
    floor: float


class TimeFloor:
    """The time floor, kept in a small JSON file written atomically."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self.floor = 0.0
        self._saved = 0.0
        self._save_failed = False
        if self.path is not None and (self.path.exists() or self.path.is_symlink()):
            try:
                self.floor = self._saved = float(json.loads(read_regular(self.path, limit=FLOOR_FILE_MAX))["floor"])
                if not math.isfinite(self.floor):
                    raise ValueError("floor is not a finite number")
            except (OSError, ValueError, KeyError, TypeError):
                # An unreadable floor file is as if none were kept; the lists' issued_at
                # raise the floor again as soon as the trust store is loaded.
                self.floor = self._saved = 0.0

    def now(self) -> GateTime:
        """The time to decide at: the system clock when at or above the floor, else the floor."""
        return self.at(self._clock())

    def at(self, system: float) -> GateTime:
        """The time to decide at, given what the system clock (or a replayed event) says."""
        if system >= self.floor:
            return GateTime(now=system, trusted=True, floor=self.floor)
        return GateTime(now=self.floor, trusted=False, floor=self.floor)

    def raise_to(self, t: float) -> None:
        """Raise the floor to `t` if higher; written to disk once it has moved SAVE_STEP_S."""
        if t > self.floor:
            self.floor = t
            if self.floor - self._saved >= SAVE_STEP_S:
                self.save()

    def observe_code(self, iat: int, skew: int) -> None:
        """A validly signed code was seen: time is at least its iat less the skew."""
        self.raise_to(iat - skew)

    def tick(self) -> None:
        """Called periodically by a running gate: a trusted clock's time becomes the floor."""
        system = self._clock()
        if system >= self.floor:
            self.raise_to(system)

    def save(self) -> None:
        """Write the floor atomically (temp file, fsync, rename)."""
        if self.path is None:
            self._saved = self.floor
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(self.path, json.dumps({"floor": self.floor}).encode())
        except OSError as exc:
            # A read-only or full disk must not stop the gate: the floor is kept in memory and
            # written again at the next step; lost at a restart, the lists' issued_at raise it.
            if not self._save_failed:
                log.error("time floor %s cannot be written (%s); kept in memory", self.path, exc.strerror or exc)
            self._save_failed = True
            self._saved = self.floor
            return
        self._save_failed = False
        self._saved = self.floor
