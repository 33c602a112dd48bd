"""Bulletins on the collector's side (directives.md): the one in force, the next, who it reaches.

A bulletin lives as ``bulletin.json`` + ``bulletin.json.sig`` in the lists folder that
``GET /v1/bulletin`` serves, and as the ``bulletin.publish`` rows of the audit log; no table of its
own. `publish` builds the document with the gates' own code (`gate.directives.issue.make_bulletin`,
which parses it as a gate would: a bulletin a gate would refuse raises `BulletinError` and nothing is
written), numbers it one above every version seen (on disk, in the audit log, in any gate's
heartbeat: gates refuse an older or equal version), signs it with the directive key and writes the
signature first and the document last, each by atomic rename, under a lock so two publishers never
take the same version.

`reach(settings, gates)` says which registered gates a bulletin's settings reach, matching each
gate's latest heartbeat (venue type, venue id, device id) with `Setting.applies_to`;
`reports(version, gates)` which gates report it in their heartbeats.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from gate.codes import keys as keylib
from gate.collector.lists import BULLETIN, SIG_SUFFIX, ListNotFound, ListsDirectory
from gate.collector.models import AuditEntry, Device
from gate.directives.bulletin import Bulletin, BulletinError, Setting, parse_bulletin
from gate.directives.issue import make_bulletin, sign_directive
from gate.fileio import replace_atomically

LOCK_NAME = ".bulletin.lock"


@dataclass
class GateView:
    """A registered gate as its latest heartbeat describes it."""

    device_id: str
    enabled: bool
    venue_id: str = ""
    venue_type: str = ""
    heartbeat_at: datetime | None = None
    bulletin_version: int | None = None  # what its latest heartbeat reports (None: not said)

    @property
    def venue_known(self) -> bool:
        return self.heartbeat_at is not None


@dataclass
class Reached:
    """One gate and what a bulletin would set for it (empty: it is not reached)."""

    gate: GateView
    values: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def gates() -> list[GateView]:
    """Every registered gate with its latest heartbeat's venue and bulletin version, by id."""
    found = []
    for device in Device.objects.select_related("heartbeat").order_by("device_id"):
        try:
            beat = device.heartbeat
        except Device.heartbeat.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
            beat = None
        data = beat.data if beat is not None and isinstance(beat.data, dict) else {}
        found.append(GateView(device.device_id, device.enabled, str(data.get("venue_id") or ""),
                              str(data.get("venue_type") or ""),
                              beat.received_at if beat is not None else None,
                              _int(data.get("bulletin_version"))))
    return found


def in_force(lists: ListsDirectory) -> tuple[Bulletin | None, str]:
    """The bulletin the collector serves, or None with why ('' when there is simply none)."""
    try:
        doc = lists.bulletin_since(0)
    except ListNotFound:
        if (lists.root / BULLETIN).exists():
            return None, f"{BULLETIN} is on disk without a signature or a version"
        return None, ""
    if doc is None:
        return None, ""
    try:
        return parse_bulletin(doc.body, doc.signature), ""
    except BulletinError as exc:
        return None, str(exc)


def _on_disk_version(lists: ListsDirectory) -> int:
    try:
        version = json.loads((lists.root / BULLETIN).read_bytes()).get("version")
    except (OSError, ValueError, AttributeError):
        return 0
    return _int(version) or 0


def next_version(lists: ListsDirectory, seen: list[GateView] | None = None) -> int:
    """One above every bulletin version known: on disk, published (audit log), reported by gates."""
    published = [_int(what.get("version")) if isinstance(what, dict) else None
                 for what in AuditEntry.objects.filter(action="bulletin.publish")
                 .values_list("what", flat=True)]
    reported = [g.bulletin_version for g in (seen if seen is not None else gates())]
    return max([_on_disk_version(lists), *(v for v in published + reported if v is not None)]) + 1


def settings_of(entries: list[dict[str, Any]]) -> tuple[Setting, ...]:
    """The entries as a gate reads them (BulletinError when a gate would refuse one)."""
    data = make_bulletin(1, 0, 0, "", entries)
    return parse_bulletin(data).settings


def reach(settings: tuple[Setting, ...], seen: list[GateView]) -> list[Reached]:
    """Every gate with what the settings set for it; later entries win, as on the gate."""
    rows = []
    for gate in seen:
        values: dict[str, Any] = {}
        for setting in settings:
            if setting.applies_to(gate.device_id, gate.venue_id, gate.venue_type):
                values.update(setting.values)
        rows.append(Reached(gate, values))
    return rows


def reports(version: int, seen: list[GateView]) -> tuple[list[GateView], list[GateView]]:
    """(gates whose latest heartbeat reports `version` or a later one, gates that do not yet)."""
    have = [g for g in seen if g.bulletin_version is not None and g.bulletin_version >= version]
    return have, [g for g in seen if g not in have]


@contextmanager
def _publishing(lists: ListsDirectory) -> Iterator[None]:
    with open(lists.root / LOCK_NAME, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def publish(lists: ListsDirectory, key: keylib.PrivateKey, issued_at: int, effective_at: int,
            note: str, entries: list[dict[str, Any]]) -> Bulletin:
    """Build, number, sign and write the next bulletin; BulletinError (nothing written) when a
    gate would refuse it, OSError when the lists folder cannot be written."""
    if not lists.root.is_dir():
        raise OSError(f"the lists folder {lists.root} does not exist")
    with _publishing(lists):
        version = next_version(lists)
        data = make_bulletin(version, issued_at, effective_at, note, entries)
        signature = sign_directive(key, data)
        replace_atomically(lists.root / (BULLETIN + SIG_SUFFIX), (signature + "\n").encode("ascii"))
        replace_atomically(lists.root / BULLETIN, data)
    return parse_bulletin(data, signature)
