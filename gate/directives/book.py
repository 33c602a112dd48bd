"""The bulletins a gate has accepted, the floor they must beat, and the one in force.

What is in force lives in the gate's state folder (`gate.directives.bulletin_state`): the newest
accepted bulletin, the previous one (in force while the newest is held, before its
`effective_at`), and the floor, the newest version ever accepted. At time t the bulletin in force
is the newest when it is effective, else the previous one when that is, else none. A newer
bulletin that arrives while another is held supersedes the held one: the centre changed its mind
before it took effect.

The trust folder only offers: sync keeps a copy of the newest there (`bulletin.json(.sig)`, for
people), and a technician may put one there. An offered file newer than the floor is taken (and,
by a writable book, remembered); one not newer is refused with one line (rollback) and the kept
bulletin stays in force, in this process and the next. The floor is never rebuilt from the
trust folder. The kept bulletins are verified again under the trust list in force whenever it
changes, so a bulletin whose directive key was withdrawn stops being in force (its version stays
the floor).
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
from gate.directives.bulletin_state import KeptBulletins, read_state, state_file, write_state

log = logging.getLogger("gate.directives")

BULLETIN_FILE = "bulletin.json"
PREVIOUS_FILE = "bulletin.previous.json"  # written by earlier versions beside the lists; removed
SIG_SUFFIX = ".sig"
MAX_BYTES = 1024 * 1024


def _read(path: Path) -> tuple[bytes, str] | None:
    """The bytes of an offered bulletin (a regular file) and its signature file, None when there is none."""
    if not os.path.lexists(path):
        return None
    try:
        data = fileio.read_regular(path, MAX_BYTES)
        sig = fileio.read_text(Path(str(path) + SIG_SUFFIX), 4096)
    except OSError as exc:
        raise BulletinError(str(exc)) from None
    return data, sig


def _rollback(version: int, floor: int) -> str:
    older = "older than" if version < floor else "not newer than"
    return f"version {version} is {older} version {floor} accepted (rollback refused)"


class BulletinBook:
    """The accepted bulletins of one gate and what they set for it.

    `trust_dir` is where files are offered; `state_dir` the gate's state folder, where the kept
    bulletins and the floor live (None: in this process's memory only, for a tool that reads a
    folder it may not write). Only a `writable` book (sync's) writes the state and the copy.
    """

    def __init__(self, trust_dir: Path, *, state_dir: Path | None = None, writable: bool = True) -> None:
        self.trust_dir = Path(trust_dir)
        self.state_path = state_file(state_dir)
        self.writable = writable
        self.newest: Bulletin | None = None
        self.previous: Bulletin | None = None
        self.floor = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def load(self, trust_list: TrustList | None, now: float) -> None:
        """(Re)read the kept bulletins, each verified under `trust_list`, then the file the trust
        folder offers; problems are kept (one line each), not raised."""
        problems: list[str] = []
        kept, damaged = KeptBulletins(), False
        if self.state_path is not None:
            try:
                kept = read_state(self.state_path)
            except BulletinError as exc:
                problems.append(str(exc))
                damaged = True
        newest = self._verified(kept.newest, "newest", trust_list, now, problems)
        previous = self._verified(kept.previous, "previous", trust_list, now, problems)
        floor = max(kept.floor, newest.version if newest else 0)
        offered_path = self.trust_dir / BULLETIN_FILE
        try:
            offered_raw = _read(offered_path)
            offered = verify_bulletin(*offered_raw, trust_list, now) if offered_raw else None
        except BulletinError as exc:
            problems.append(f"{offered_path}: {exc}")
            offered = None
        if offered is not None and not (newest is not None and offered.body == newest.body):
            if damaged:
                problems.append(f"{offered_path}: not taken while the bulletin state is damaged "
                                "(the floor is unknown); the collector's next bulletin is")
            elif offered.version > floor:
                previous = newest if newest is not None and newest.effective(now) else previous
                newest, floor = offered, offered.version
                if self.writable:
                    try:
                        self._remember(newest, previous, floor)
                    except BulletinError as exc:
                        problems.append(str(exc))
                log.info("bulletin %d taken from %s", offered.version, offered_path)
            else:
                problems.append(f"{offered_path}: {_rollback(offered.version, floor)}")
        with self._lock:
            self.newest, self.previous, self.floor, self.problems = newest, previous, floor, problems
        for line in problems:
            log.warning("bulletin not in force: %s", line)

    def _verified(self, signed: tuple[bytes, str] | None, which: str, trust_list: TrustList | None,
                  now: float, problems: list[str]) -> Bulletin | None:
        if signed is None:
            return None
        try:
            return verify_bulletin(signed[0], signed[1], trust_list, now)
        except BulletinError as exc:
            problems.append(f"{self.state_path} ({which} bulletin kept): {exc}")
            return None

    @property
    def version(self) -> int:
        """The newest version accepted (0 for none): what sync asks the collector to beat."""
        return max(self.floor, self.newest.version if self.newest else 0)

    def accept(self, data: bytes, sig: str | bytes, trust_list: TrustList | None, now: float) -> bool:
        """Keep a fetched bulletin; False when it is the version already held.

        Raises BulletinError, changing nothing, for a bad signature, a bulletin that says
        anything it may not, or a version not newer than the floor (rollback).
        """
        bulletin = verify_bulletin(data, sig, trust_list, now)
        with self._lock:
            newest = self.newest
            if newest is not None and bulletin.version == newest.version:
                return False
            floor = max(self.floor, newest.version if newest else 0)
            if bulletin.version <= floor:
                raise BulletinError(f"bulletin: {_rollback(bulletin.version, floor)}")
            previous = newest if newest is not None and newest.effective(now) else self.previous
            if self.writable:
                self._keep_copy(bulletin)
                self._remember(bulletin, previous, bulletin.version)
            self.newest, self.previous, self.floor = bulletin, previous, bulletin.version
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

    def _remember(self, newest: Bulletin, previous: Bulletin | None, floor: int) -> None:
        """Write the state (BulletinError when it cannot be written: nothing is then accepted)."""
        if self.state_path is None:
            return
        write_state(self.state_path, KeptBulletins(
            floor, (newest.body, newest.sig), (previous.body, previous.sig) if previous else None))

    def _keep_copy(self, bulletin: Bulletin) -> None:
        """A copy of the newest beside the lists, for people; written before the state, so a
        reader in between finds a newer offer, never an older one. Failing is only logged."""
        try:
            fileio.replace_atomically(self.trust_dir / (BULLETIN_FILE + SIG_SUFFIX), bulletin.sig.encode() + b"\n")
            fileio.replace_atomically(self.trust_dir / BULLETIN_FILE, bulletin.body)
            for name in (PREVIOUS_FILE, PREVIOUS_FILE + SIG_SUFFIX):
                (self.trust_dir / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: no copy of bulletin %d kept (%s)", self.trust_dir, bulletin.version,
                        exc.strerror or exc)
