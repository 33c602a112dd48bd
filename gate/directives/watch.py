"""A process's view of its gate's bulletins, kept current without a restart.

The kiosk and the sync process each hold one. Only sync writes (`BulletinBook.accept`: the copy
in the trust folder, then the state in the state folder); the kiosk sees what sync wrote, and
both see the trust list in force change, through `refresh`, which is cheap enough to call on
every scan: it compares the files' stat (inode, size, mtime) and the trust list's version with
what was loaded, and re-reads and re-verifies only on a change.

Sync writes the copy as two files (`.sig` first, then the body). A reader that comes between the
two sees a pair that does not verify; so when only the files changed (not the trust list) and the
new pair is refused, the bulletins loaded before stay in force and the files are read again on the
next refresh: a scan is never decided without a bulletin that is in force because of a write in
progress. A trust list change is always taken: a bulletin whose directive key was withdrawn, or
whose key's `not_after` has passed, stops being in force at once (the files are verified again
whenever the set of directive keys in force changes).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from gate.codes.trust import TrustList, TrustStore
from gate.directives.book import BULLETIN_FILE, PREVIOUS_FILE, SIG_SUFFIX, BulletinBook
from gate.directives.bulletin_state import state_file

log = logging.getLogger("gate.directives")

WATCHED: tuple[str, ...] = (BULLETIN_FILE, BULLETIN_FILE + SIG_SUFFIX, PREVIOUS_FILE, PREVIOUS_FILE + SIG_SUFFIX)


def _files_stamp(folder: Path, state: Path | None) -> tuple[Any, ...]:
    """What changes when any of the bulletin files or the state is written, replaced or removed."""
    stamp = []
    for path in [folder / name for name in WATCHED] + ([state] if state is not None else []):
        try:
            st = os.stat(path)
            stamp.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def _trust_stamp(trust_list: TrustList | None, now: float) -> tuple[Any, ...] | None:
    """What changes when the trust list in force changes, or one of its directive keys starts or ends."""
    if trust_list is None:
        return None
    keys = frozenset(kid for kid, key in trust_list.directive_keys.items() if key.in_force(now))
    return (trust_list.version, trust_list.issued_at, keys)


class BulletinWatch:
    """A `BulletinBook` for one gate, re-loaded when its files, its state or the trust list change.

    `state_dir` is the gate's state folder (`gate.directives.bulletin_state`); `for_trust` finds
    it beside a trust store's state database.
    """

    def __init__(self, trust_dir: Path, *, state_dir: Path | None = None, writable: bool = False) -> None:
        self.trust_dir = Path(trust_dir)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.writable = writable
        self.book = BulletinBook(self.trust_dir, state_dir=self.state_dir, writable=writable)
        self._files: tuple[Any, ...] | None = None
        self._trust: tuple[Any, ...] | None = None
        self._loaded = False
        self._reported: list[str] = []

    def refresh(self, trust_list: TrustList | None, now: float) -> BulletinBook:
        """The book, re-read first when the bulletin files or the trust list in force changed."""
        files = _files_stamp(self.trust_dir, state_file(self.state_dir))
        trust = _trust_stamp(trust_list, now)
        if self._loaded and files == self._files and trust == self._trust:
            return self.book
        candidate = BulletinBook(self.trust_dir, state_dir=self.state_dir, writable=self.writable)
        candidate.load(trust_list, now)
        trust_changed = not self._loaded or trust != self._trust
        if candidate.problems and not trust_changed and not self.book.problems:
            # Probably a pair caught between its two writes: keep what is in force, look again next time.
            if candidate.problems != self._reported:
                log.warning("bulletin files changed but do not verify; the bulletin in force stays: %s",
                            "; ".join(candidate.problems))
                self._reported = list(candidate.problems)
            return self.book
        if candidate.version != self.book.version or not self._loaded:
            log.info("bulletins loaded from %s: newest version %d", self.trust_dir, candidate.version)
        self.book, self._files, self._trust, self._loaded = candidate, files, trust, True
        self._reported = list(candidate.problems)
        return self.book

    def follows(self, trust: TrustStore) -> bool:
        """True when this watch is of the gate whose trust store is `trust` (same trust folder,
        same state folder): after a reload moved either, a new watch is due."""
        state = trust.state_path
        return (self.trust_dir == Path(trust.trust_dir)
                and self.state_dir == (state.parent if state is not None else None))

    @classmethod
    def for_trust(cls, trust: TrustStore, *, writable: bool = False) -> "BulletinWatch":
        """The watch of the gate whose trust store is `trust` (a `TrustStore`): its trust folder,
        and its state folder beside the trust state database (in memory when it has none)."""
        state = trust.state_path
        return cls(trust.trust_dir, state_dir=state.parent if state is not None else None,
                   writable=writable)

    def accept(self, data: bytes, sig: str | bytes, trust_list: TrustList | None, now: float) -> bool:
        """`BulletinBook.accept` on the current book (sync's side); BulletinError, changing nothing, if refused."""
        return self.refresh(trust_list, now).accept(data, sig, trust_list, now)
