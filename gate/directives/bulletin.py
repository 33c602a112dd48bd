"""A bulletin (directives.md): one signed document that sets a few named settings for the gates
it names, from a given time.

`verify_bulletin` checks the signature under a directive key of the trust list in force, then
the whole document: an unknown key, a value out of the range of config.md, an unknown scope key
or venue type refuses the whole bulletin (`BulletinError`, one line), so nothing is half-applied.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from gate.codes.trust import TrustList
from gate.config import VENUE_TYPES, Config, ConfigError, check_value
from gate.directives.keys import verify_detached
from gate.errors import GateError

# The keys a bulletin may set, and nothing else (directives.md).
ALLOWED_KEYS: tuple[str, ...] = ("venue.itinerary_check", "venue.strict_clock", "temperature.fever_c",
                                 "temperature.required", "credentials.rule_set")
SCOPE_KEYS: tuple[str, ...] = ("venue_types", "venue_id_prefixes", "device_ids")
MAX_NOTE_CHARS = 500


class BulletinError(GateError, ValueError):
    """A bulletin that was refused; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One entry of `settings`: the gates it is for, and what it sets for them."""

    scope: dict[str, tuple[str, ...]]
    values: dict[str, Any]

    def applies_to(self, device_id: str, venue_id: str, venue_type: str) -> bool:
        """True when every key of the scope matches this gate (an empty scope matches every gate)."""
        for key, listed in self.scope.items():
            if key == "venue_types" and venue_type not in listed:
                return False
            if key == "venue_id_prefixes" and not any(venue_id.startswith(p) for p in listed):
                return False
            if key == "device_ids" and device_id not in listed:
                return False
        return True


@dataclass(frozen=True)
class Bulletin:
    """A verified bulletin, with the exact signed bytes it came as."""

    version: int
    issued_at: int
    effective_at: int
    note: str
    settings: tuple[Setting, ...]
    body: bytes
    sig: str

    def settings_for(self, device_id: str, venue_id: str, venue_type: str) -> dict[str, Any]:
        """What this bulletin sets for one gate; later entries win over earlier ones."""
        values: dict[str, Any] = {}
        for setting in self.settings:
            if setting.applies_to(device_id, venue_id, venue_type):
                values.update(setting.values)
        return values

    def effective(self, now: float) -> bool:
        """True from `effective_at` on; before it the bulletin is held, not applied."""
        return now >= self.effective_at

    def summary(self) -> dict[str, Any]:
        """What the screen, the doctor and the heartbeat show of it."""
        return {"version": self.version, "effective_at": self.effective_at, "note": self.note}


def _uint(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    if type(value) is not int or value < 0:
        raise BulletinError(f"bulletin: '{key}' must be a non-negative integer")
    return value


def _scope(raw: Any, n: int) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise BulletinError(f"bulletin: settings[{n}].scope must be an object")
    scope = {}
    for key, listed in raw.items():
        if key not in SCOPE_KEYS:
            raise BulletinError(f"bulletin: settings[{n}].scope has unknown key {key!r} "
                                f"(allowed: {', '.join(SCOPE_KEYS)})")
        if not isinstance(listed, list) or not all(isinstance(v, str) and v for v in listed):
            raise BulletinError(f"bulletin: settings[{n}].scope.{key} must be an array of strings")
        if key == "venue_types":
            unknown = [v for v in listed if v not in VENUE_TYPES]
            if unknown:
                raise BulletinError(f"bulletin: settings[{n}].scope.venue_types has unknown type {unknown[0]!r}")
        scope[key] = tuple(listed)
    return scope


def _values(raw: Any, n: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise BulletinError(f"bulletin: settings[{n}].set must be a non-empty object")
    values = {}
    for key, value in raw.items():
        if key not in ALLOWED_KEYS:
            raise BulletinError(f"bulletin: settings[{n}] sets {key!r}, which a bulletin may not set "
                                f"(allowed: {', '.join(ALLOWED_KEYS)})")
        try:
            values[key] = check_value(key, value)
        except ConfigError as exc:
            raise BulletinError(f"bulletin: settings[{n}]: {exc}") from None
    return values


def parse_bulletin(data: bytes, sig: str = "") -> Bulletin:
    """The bulletin in `data`, every entry checked; BulletinError for anything it may not say."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BulletinError(f"bulletin: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise BulletinError("bulletin: not a JSON object")
    version = _uint(doc, "version")
    if version < 1:
        raise BulletinError("bulletin: 'version' must be 1 or more")
    note = doc.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise BulletinError(f"bulletin: 'note' must be text of at most {MAX_NOTE_CHARS} characters")
    raw_settings = doc.get("settings")
    if not isinstance(raw_settings, list):
        raise BulletinError("bulletin: 'settings' must be an array")
    settings = []
    for n, entry in enumerate(raw_settings):
        if not isinstance(entry, dict) or set(entry) - {"scope", "set"}:
            raise BulletinError(f"bulletin: settings[{n}] must be an object with 'scope' and 'set'")
        settings.append(Setting(scope=_scope(entry.get("scope", {}), n), values=_values(entry.get("set"), n)))
    return Bulletin(version=version, issued_at=_uint(doc, "issued_at"), effective_at=_uint(doc, "effective_at"),
                    note=note, settings=tuple(settings), body=bytes(data), sig=sig.strip())


def verify_bulletin(data: bytes, sig_b64: str | bytes, trust_list: TrustList | None, now: float,
                    skew: float = 0.0) -> Bulletin:
    """A bulletin signed by a directive key in force in `trust_list`, wholly valid; else BulletinError."""
    if trust_list is None:
        raise BulletinError("bulletin: no trust list in force to check it against")
    sig_text = sig_b64.decode("ascii", "replace") if isinstance(sig_b64, bytes) else sig_b64
    try:
        signature = base64.b64decode(sig_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BulletinError("bulletin: the signature is not base64") from None
    if verify_detached(trust_list.directive_keys.values(), signature, data, now, skew) is None:
        raise BulletinError("bulletin: the signature does not verify under any directive key in force")
    return parse_bulletin(data, sig_text)


def apply_settings(cfg: Config, values: dict[str, Any]) -> Config:
    """`cfg` with `values` ("section.key" -> typed value) put in place of the file's."""
    by_section: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        by_section.setdefault(section, {})[key] = value
    changes = {section: dataclasses.replace(getattr(cfg, section), **keys) for section, keys in by_section.items()}
    return dataclasses.replace(cfg, **changes) if changes else cfg
