"""Where a gate remembers its bulletins: one file in its state folder, never in the trust folder.

directives.md: a bulletin's version only grows, and the newest version accepted is remembered
across restarts, so an older file put back in the trust folder (a restored backup, an attacker
with write access there) is refused. The trust folder only offers files; what is in force, and
the floor every later bulletin must beat, live here (`BULLETIN_STATE_FILE`, beside the trust
state and the time floor), as the trust list's version lives in the trust state database::

    {"format": 1, "floor": 5,
     "newest":   {"body": "<base64 of the signed bytes>", "sig": "<base64 signature>"},
     "previous": null}

`floor` is the newest version ever accepted; it stays when that bulletin stops verifying (its
directive key withdrawn). `previous` is the bulletin in force while the newest is held (before
its `effective_at`). The file is replaced atomically (fsynced), so a reader in another process
sees the old state or the new one, never half of one. The signatures are checked again by the
reader under the trust list in force (`gate.directives.book`), so the file holds no trust of its
own: it can only make a gate refuse what it once accepted, never accept what it would refuse.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import fileio
from gate.directives.bulletin import BulletinError

BULLETIN_STATE_FILE = "bulletins.json"
FORMAT = 1
MAX_STATE_BYTES = 3 * 1024 * 1024  # two bulletins of at most 1 MiB each, in base64


@dataclass(frozen=True)
class KeptBulletins:
    """What the state file holds: the floor and the signed bytes of the newest and previous."""

    floor: int = 0
    newest: tuple[bytes, str] | None = None     # (signed bytes, base64 signature)
    previous: tuple[bytes, str] | None = None


def state_file(state_dir: Path | None) -> Path | None:
    """The bulletin state file of a gate whose state folder is `state_dir` (None: kept in memory)."""
    return None if state_dir is None else Path(state_dir) / BULLETIN_STATE_FILE


def _signed(entry: Any, name: str, path: Path) -> tuple[bytes, str] | None:
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("body"), str) \
            or not isinstance(entry.get("sig"), str):
        raise BulletinError(f"{path}: damaged ('{name}' is not a signed bulletin)")
    try:
        return base64.b64decode(entry["body"], validate=True), entry["sig"]
    except (binascii.Error, ValueError):
        raise BulletinError(f"{path}: damaged ('{name}' is not base64)") from None


def read_state(path: Path) -> KeptBulletins:
    """The kept bulletins at `path`; empty when there is no file yet; BulletinError (one line)
    for a file that is unreadable, not a regular file, or not a state this gate wrote."""
    if not os.path.lexists(path):
        return KeptBulletins()
    try:
        doc = json.loads(fileio.read_regular(path, MAX_STATE_BYTES))
    except fileio.FileReadError as exc:
        raise BulletinError(str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BulletinError(f"{path}: damaged (not JSON: {exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BulletinError(f"{path}: damaged (not a bulletin state of format {FORMAT})")
    floor = doc.get("floor")
    if type(floor) is not int or floor < 0:
        raise BulletinError(f"{path}: damaged ('floor' is not a version)")
    return KeptBulletins(floor, _signed(doc.get("newest"), "newest", path),
                         _signed(doc.get("previous"), "previous", path))


def write_state(path: Path, kept: KeptBulletins) -> None:
    """Replace the state at `path` with `kept`, atomically; BulletinError (one line) when it fails."""

    def entry(signed: tuple[bytes, str] | None) -> dict[str, str] | None:
        if signed is None:
            return None
        return {"body": base64.b64encode(signed[0]).decode("ascii"), "sig": signed[1].strip()}

    doc = {"format": FORMAT, "floor": kept.floor, "newest": entry(kept.newest),
           "previous": entry(kept.previous)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fileio.replace_atomically(path, json.dumps(doc, indent=1).encode("utf-8") + b"\n", 0o644)
    except OSError as exc:
        raise BulletinError(f"{path}: the bulletin state could not be kept "
                            f"({exc.strerror or exc})") from None
