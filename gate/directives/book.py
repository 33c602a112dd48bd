"""The bulletins a gate has accepted, kept in its trust folder, and the one in force.

Two signed files beside the lists: `bulletin.json(.sig)`, the newest accepted, and
`bulletin.previous.json(.sig)`, the one in force when the newest arrived while it was still
held (before its `effective_at`). At time t the bulletin in force is the newest when it is
effective, else the previous one when that is, else none. A newer bulletin that arrives while
another is held supersedes the held one: the centre changed its mind before it took effect.

Versions only grow: a bulletin not newer than the newest accepted is refused (rollback) and
leaves everything as it was. The files are re-verified under the trust list in force whenever
it changes, so a bulletin whose directive key was withdrawn stops being in force.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from gate import fileio
from gate.codes.trust import TrustList
from gate.config import Config
from gate.directives.bulletin import Bulletin, BulletinError, apply_settings, verify_bulletin

log = logging.getLogger("gate.directives")

BULLETIN_FILE = "bulletin.json"
PREVIOUS_FILE = "bulletin.previous.json"
SIG_SUFFIX = ".sig"
MAX_BYTES = 1024 * 1024


def _read(path: Path) -> tuple[bytes, str] | None:
    """The bytes of a kept bulletin (a regular file) and its signature file, None when there is none."""
    if not os.path.lexists(path):
        return None
    try:
        data = fileio.read_regular(path, MAX_BYTES)
        sig = fileio.read_text(Path(str(path) + SIG_SUFFIX), 4096)
    except OSError as exc:
        raise BulletinError(str(exc)) from None
    return data, sig


class BulletinBook:
    """The accepted bulletins of one gate (its trust folder) and what they set for it."""

    def __init__(self, trust_dir: Path, *, writable: bool = True) -> None:
        self.trust_dir = Path(trust_dir)
        self.writable = writable
        self.newest: Bulletin | None = None
        self.previous: Bulletin | None = None
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def load(self, trust_list: TrustList | None, now: float) -> None:
        """(Re)read the kept bulletins, each verified under `trust_list`; problems are kept, not raised."""
        problems = []
        found: dict[str, Bulletin | None] = {}
        for name in (BULLETIN_FILE, PREVIOUS_FILE):
            found[name] = None
            try:
                kept = _read(self.trust_dir / name)
                if kept is not None:
                    found[name] = verify_bulletin(kept[0], kept[1], trust_list, now)
            except BulletinError as exc:
                problems.append(f"{self.trust_dir / name}: {exc}")
        with self._lock:
            self.newest, self.previous, self.problems = found[BULLETIN_FILE], found[PREVIOUS_FILE], problems
        for line in problems:
            log.warning("bulletin not in force: %s", line)

    @property
    def version(self) -> int:
        """The newest accepted version (0 for none): what sync asks the collector to beat."""
        return self.newest.version if self.newest else 0

    def accept(self, data: bytes, sig: str | bytes, trust_list: TrustList | None, now: float) -> bool:
        """Keep a fetched bulletin; False when it is the version already held.

        Raises BulletinError, changing nothing, for a bad signature, a bulletin that says
        anything it may not, or a version older than the newest accepted (rollback).
        """
        bulletin = verify_bulletin(data, sig, trust_list, now)
        with self._lock:
            newest = self.newest
            if newest is not None and bulletin.version == newest.version:
                return False
            if newest is not None and bulletin.version < newest.version:
                raise BulletinError(f"bulletin: version {bulletin.version} is older than version "
                                    f"{newest.version} held (rollback refused)")
            previous = newest if newest is not None and newest.effective(now) else self.previous
            if self.writable:
                self._keep(bulletin, previous)
            self.newest, self.previous = bulletin, previous
        log.info("bulletin %d accepted (effective at %d): %s", bulletin.version, bulletin.effective_at, bulletin.note)
        return True

    def in_force(self, now: float) -> Bulletin | None:
        """The bulletin whose settings apply at `now`, if any."""
        with self._lock:
            for bulletin in (self.newest, self.previous):
                if bulletin is not None and bulletin.effective(now):
                    return bulletin
        return None

    def effective_config(self, cfg: Config, now: float) -> tuple[Config, int]:
        """`cfg` with the settings of the bulletin in force for this gate, and that bulletin's version (0: none)."""
        bulletin = self.in_force(now)
        if bulletin is None:
            return cfg, 0
        values = bulletin.settings_for(cfg.device.id, cfg.venue.id, cfg.venue.type)
        return apply_settings(cfg, values), bulletin.version

    def summary(self, now: float) -> dict[str, Any]:
        """The bulletin in force and the one held, for the screen, the doctor and the heartbeat."""
        in_force = self.in_force(now)
        held = self.newest if self.newest is not None and not self.newest.effective(now) else None
        return {"in_force": in_force.summary() if in_force else None,
                "held": held.summary() if held else None,
                "problems": list(self.problems)}

    def _keep(self, bulletin: Bulletin, previous: Bulletin | None) -> None:
        files = []
        if previous is not None:
            files += [(PREVIOUS_FILE + SIG_SUFFIX, previous.sig.encode() + b"\n"), (PREVIOUS_FILE, previous.body)]
        files += [(BULLETIN_FILE + SIG_SUFFIX, bulletin.sig.encode() + b"\n"), (BULLETIN_FILE, bulletin.body)]
        try:
            for name, data in files:
                fileio.replace_atomically(self.trust_dir / name, data)
            if previous is None:
                for name in (PREVIOUS_FILE, PREVIOUS_FILE + SIG_SUFFIX):
                    (self.trust_dir / name).unlink(missing_ok=True)
        except OSError as exc:
            raise BulletinError(f"{self.trust_dir}: the bulletin could not be kept ({exc.strerror or exc})") from None
