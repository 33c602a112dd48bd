"""One scan, as it is written down and uploaded: the RECORD of spec/upload.md.

A `Record` is made once per scan, whatever the decision, with an id made at the scan
(UUIDv7, so ids sort by time and serve as the collector's idempotency key). It keeps
personal data minimal: the subject's pseudonym (`sub`), never a name.

The JSON keys of upload.md are kept exactly; the project adds `trust_list_stale`,
`fire_release`, `temperature_raw`, `alert`, `faults` (the codes of gate.faults in force at
the scan that flag records) and `bulletin_version` (the bulletin in force at the scan, 0 for none:
directives.md) as new keys.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from gate.codes.result import VerifyResult
from gate.vocabulary import DECISIONS, is_alert  # noqa: F401  (is_alert: re-exported for readers of records)


_CODE_KEYS: tuple[str, ...] = ("valid", "reason", "issuer", "sub", "cti", "status", "itinerary_risk")
# A credential's additions (credentials.md), present only for an EU DCC or SMART Health Card: its
# format, its certificate type, and the acceptance rule that refused it. A JKM1 record has none.
_CREDENTIAL_KEYS: tuple[str, ...] = ("format", "cert_type", "rule_id")


def _code_object(code: Any) -> dict[str, Any]:
    """The RECORD's `code` object: its keys, and a credential's additions when present."""
    out = {key: code.get(key) for key in _CODE_KEYS}
    out.update({key: code[key] for key in _CREDENTIAL_KEYS if code.get(key) is not None})
    return out

# --- UUIDv7 (RFC 9562 §5.7) ---------------------------------------------------------------

_RAND_BITS = 74  # rand_a (12 bits) + rand_b (62 bits)
_RAND_MAX = (1 << _RAND_BITS) - 1


def epoch_ms(now_s: float) -> int:
    """Milliseconds since the Unix epoch for an epoch time in seconds (the id's and scanned_at's clock)."""
    # Through whole microseconds first: an epoch float near 1.8e9 holds 1795421702.130 as
    # 1795421702.1299999, which must still be millisecond 130.
    return int(round(now_s * 1_000_000)) // 1000


class Uuid7Generator:
    """Makes UUIDv7 strings (RFC 9562 §5.7), strictly increasing for this generator.

    48-bit Unix milliseconds, version 7, variant 10, 74 random bits from os.urandom.
    When two ids share a millisecond, or the clock steps back, the random part of the
    previous id is increased by a random positive step (RFC 9562 §6.2 method 2,
    "monotonic random"); a millisecond is borrowed from the future in the
    (astronomically rare) case it would overflow. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self, now_s: float) -> str:
        ms = epoch_ms(now_s)
        if ms < 0 or ms >= 1 << 48:
            raise ValueError(f"time {now_s!r} cannot be put in a UUIDv7")
        with self._lock:
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + int.from_bytes(os.urandom(4), "big") + 1
                if rand > _RAND_MAX:
                    ms += 1
                    rand = _fresh_random()
            else:
                rand = _fresh_random()
            self._last_ms, self._last_rand = ms, rand
        rand_a = rand >> 62
        rand_b = rand & ((1 << 62) - 1)
        value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        h = f"{value:032x}"
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


_process_ids = Uuid7Generator()


def new_uuid7(now_s: float) -> str:
    """A UUIDv7 string for a scan at epoch time `now_s`; ids of this process strictly increase."""
    return _process_ids(now_s)


def _fresh_random() -> int:
    # The top random bit starts at 0 so that increments within a millisecond have room.
    return int.from_bytes(os.urandom(10), "big") & (_RAND_MAX >> 1)


def uuid7_ms(uuid_text: str) -> int:
    """The Unix milliseconds stored in a UUIDv7 string."""
    return int(uuid_text.replace("-", "")[:12], 16)


# --- time stamps ----------------------------------------------------------------------------


def iso_utc_ms(now_s: float) -> str:
    """ISO 8601 UTC with milliseconds and Z, e.g. "2026-11-23T08:15:02.123Z", for an epoch time."""
    ms = epoch_ms(now_s)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_iso_utc(text: str) -> float:
    """The epoch time of an ISO 8601 UTC time stamp ending in Z (as iso_utc_ms writes it)."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"time stamp {text!r} is not ISO 8601 UTC ending in Z")
    try:
        dt = datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"time stamp {text!r} is not ISO 8601 UTC ending in Z") from None
    return dt.timestamp()


# --- the record -----------------------------------------------------------------------------


def subject_key(issuer: str | None, sub: str | None) -> str | None:
    """The key under which a subject's scans and re-measure memory are kept: "iss:sub_hex"."""
    if not issuer or not sub:
        return None
    return f"{issuer}:{sub}"


def code_summary(result: VerifyResult, rule_id: str | None = None) -> dict[str, Any]:
    """The `code` object of a RECORD from a verification result: no name, no home, no dates.

    A credential (credentials.md) adds its `format` and `cert_type`, and `rule_id` when one of
    the venue's acceptance rules refused it.
    """
    out = {
        "valid": result.valid,
        "reason": result.reason,
        "issuer": result.issuer,
        "sub": result.sub,
        "cti": result.cti,
        "status": result.status,
        "itinerary_risk": bool(result.itinerary_risk),
    }
    if result.format not in (None, "JKM1"):  # JKM1's record stays as upload.md writes it
        out["format"] = result.format
        out["cert_type"] = result.fields.get("cert_type")
    if rule_id is not None:
        out["rule_id"] = rule_id
    return out




@dataclass(frozen=True)
class Record:
    """One scan as recorded and uploaded (upload.md RECORD plus the project's additions).

    `alert` left as None is worked out from the decision and the code's status.
    `override` is None, or {"record_id": <id of the overridden scan>, "overrode": <its decision>}.
    `faults` are the codes of gate.faults in force at the scan that flag records (record_flags).
    """

    id: str
    device_id: str
    venue_id: str
    venue_type: str
    scanned_at: str
    clock_trusted: bool
    code: dict[str, Any]
    temperature_c: float | None
    temperature_state: str
    decision: str
    decision_reasons: list[str]
    rules_version: str
    trust_list_version: int | None
    override: dict[str, Any] | None = None
    trust_list_stale: bool = False
    fire_release: bool = False
    temperature_raw: dict[str, Any] | None = None
    alert: bool | None = field(default=None)
    faults: list[str] = field(default_factory=list)
    bulletin_version: int = 0

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision {self.decision!r} is not one of {', '.join(DECISIONS)}")
        if self.alert is None:
            object.__setattr__(self, "alert", is_alert(self.decision, self.code.get("status")))
        if self.temperature_c is not None:
            object.__setattr__(self, "temperature_c", float(self.temperature_c))
        object.__setattr__(self, "decision_reasons", list(self.decision_reasons))
        object.__setattr__(self, "faults", list(self.faults))

    @property
    def subject_key(self) -> str | None:
        """"iss:sub_hex" of the scanned code, or None when the code named no subject."""
        return subject_key(self.code.get("issuer"), self.code.get("sub"))

    @property
    def scanned_epoch(self) -> float:
        """scanned_at as epoch seconds."""
        return parse_iso_utc(self.scanned_at)

    def to_json(self) -> dict[str, Any]:
        """The RECORD object: upload.md's keys in its order, then the project's additions."""
        return {
            "id": self.id,
            "device_id": self.device_id,
            "venue_id": self.venue_id,
            "venue_type": self.venue_type,
            "scanned_at": self.scanned_at,
            "clock_trusted": self.clock_trusted,
            "code": _code_object(self.code),
            "temperature_c": self.temperature_c,
            "temperature_state": self.temperature_state,
            "decision": self.decision,
            "decision_reasons": list(self.decision_reasons),
            "rules_version": self.rules_version,
            "trust_list_version": self.trust_list_version,
            "override": dict(self.override) if self.override is not None else None,
            "trust_list_stale": self.trust_list_stale,
            "fire_release": self.fire_release,
            "temperature_raw": dict(self.temperature_raw) if self.temperature_raw is not None else None,
            "alert": self.alert,
            "faults": list(self.faults),
            "bulletin_version": self.bulletin_version,
        }

    @classmethod
    def from_json(cls, data: Any, *, validate: bool = True) -> "Record":
        """A Record from a RECORD object; ValueError with one line naming the first bad key.

        upload.md's keys are required; the project's additions default when absent.
        `validate=False` skips the checks, for what this gate wrote itself (the store).
        """
        if validate:
            _validate(data)
        code = data["code"]
        override = data["override"]
        return cls(
            id=data["id"],
            device_id=data["device_id"],
            venue_id=data["venue_id"],
            venue_type=data["venue_type"],
            scanned_at=data["scanned_at"],
            clock_trusted=data["clock_trusted"],
            code=_code_object(code),
            temperature_c=data["temperature_c"],
            temperature_state=data["temperature_state"],
            decision=data["decision"],
            decision_reasons=list(data["decision_reasons"]),
            rules_version=data["rules_version"],
            trust_list_version=data["trust_list_version"],
            override=dict(override) if override is not None else None,
            trust_list_stale=data.get("trust_list_stale", False),
            fire_release=data.get("fire_release", False),
            temperature_raw=data.get("temperature_raw"),
            alert=data.get("alert"),
            faults=list(data.get("faults", [])),
            bulletin_version=data.get("bulletin_version", 0),
        )


def _validate(data: Any) -> None:
    if not isinstance(data, dict):
        raise ValueError("record is not a JSON object")
    _check(data, "id", str)
    _check_uuid(data["id"])
    for key in ("device_id", "venue_id", "venue_type", "scanned_at", "temperature_state",
                "decision", "rules_version"):
        _check(data, key, str)
    parse_iso_utc(data["scanned_at"])
    _check(data, "clock_trusted", bool)
    _check(data, "code", dict)
    code = data["code"]
    _check(code, "valid", bool, "code.")
    _check(code, "reason", str, "code.")
    for key in ("issuer", "sub", "cti", "status"):
        _check(code, key, (str, type(None)), "code.")
    for key in _CREDENTIAL_KEYS:
        if key in code:
            _check(code, key, (str, type(None)), "code.")
    _check(code, "itinerary_risk", bool, "code.")
    _check(data, "temperature_c", (int, float, type(None)))
    _check(data, "decision_reasons", list)
    if not all(isinstance(r, str) for r in data["decision_reasons"]):
        raise ValueError("record key 'decision_reasons' must be a list of strings")
    _check(data, "trust_list_version", (int, type(None)))
    _check(data, "override", (dict, type(None)))
    override = data["override"]
    if override is not None:
        _check(override, "record_id", str, "override.")
        _check(override, "overrode", str, "override.")
    for key in ("trust_list_stale", "fire_release", "alert"):
        if key in data:
            _check(data, key, bool)
    if "faults" in data:
        _check(data, "faults", list)
        if not all(isinstance(f, str) for f in data["faults"]):
            raise ValueError("record key 'faults' must be a list of strings")
    if "bulletin_version" in data:
        _check(data, "bulletin_version", int)
        if data["bulletin_version"] < 0:
            raise ValueError("record key 'bulletin_version' must not be negative")
    if data.get("temperature_raw") is not None:
        _check(data, "temperature_raw", dict)


def _check(obj: dict[str, Any], key: str, types: type | tuple[type, ...], prefix: str = "") -> None:
    if key not in obj:
        raise ValueError(f"record key '{prefix}{key}' is missing")
    value = obj[key]
    allowed = types if isinstance(types, tuple) else (types,)
    # bool is an int in Python; only accept it where bool is asked for.
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        raise ValueError(f"record key '{prefix}{key}' must be {names}, not {type(value).__name__}")


def _check_uuid(text: str) -> None:
    parts = text.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12] or any(
        c not in "0123456789abcdef" for c in text.replace("-", "")
    ):
        raise ValueError(f"record id {text!r} is not a lowercase UUID")
