"""Checking one uploaded scan RECORD (spec/upload.md) before it is stored.

A record is accepted only when every field of the spec is present with its type; extra keys are
kept (new keys may be added to the format). Refusals use a fixed vocabulary, sent back in
``"rejected": [{"id": ..., "error": ...}]``:

- ``not_an_object``            the record is not a JSON object
- ``bad_id``                   ``id`` is not a UUID string (8-4-4-4-12 hex)
- ``missing_field:<name>``     a required key is absent
- ``bad_type:<name>``          a key has the wrong JSON type
- ``bad_decision``             ``decision`` is not one of `DECISIONS`
- ``bad_scanned_at``           ``scanned_at`` is not an ISO 8601 time with a UTC offset or ``Z``,
                               or lies outside the plausible window (`ScanWindow`: older than the
                               collector's retention or more than a day after its clock)
- ``bad_device_id``            ``device_id`` is outside the gate's id alphabet (`gate.ids`)
- ``device_mismatch``          ``device_id`` is not the device that signed the request
- ``nul_character``            a string holds U+0000, which PostgreSQL cannot store
- ``too_long:<name>``          a searchable column's text is longer than its column
                               (`MAX_LENGTHS`, the `Record` model's ``max_length``)
- ``bad_text``                 a string (or key) is not valid Unicode: a lone UTF-16 surrogate
                               (``"\\ud800"``), which neither database can store

A checked record becomes a `RecordRow`: the columns of ``collector_record`` (see `models`) with
``scanned_at`` in UTC text ``YYYY-MM-DDTHH:MM:SS.fffZ`` and ``received_at`` in unix seconds;
`gate.collector.ingest` stores rows.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from gate.errors import GateError
from gate.ids import is_id
from gate.vocabulary import DECISIONS, is_alert

DEFAULT_RETENTION_DAYS = 400
FUTURE_ALLOWANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ScanWindow:
    """The plausible ``scanned_at`` of a record this collector stores (upload.md): from its
    retention (``serve --retention-days``) before its clock to one day after it.

    `earliest` and `latest` are canonical UTC texts (``YYYY-MM-DDTHH:MM:SS.fffZ``), which sort as
    the times they name; no record, and no partition (`gate.collector.partitions`), lies outside.
    """

    earliest: str
    latest: str

    @classmethod
    def around(cls, now: float, retention_days: int = DEFAULT_RETENTION_DAYS) -> "ScanWindow":
        """The window of a collector whose clock reads `now` (unix seconds)."""
        moment = datetime.fromtimestamp(now, timezone.utc)
        return cls(canonical_time(moment - timedelta(days=retention_days)),
                   canonical_time(moment + FUTURE_ALLOWANCE))

    def holds(self, scanned_at: str) -> bool:
        """True when the canonical time `scanned_at` lies inside the window."""
        return self.earliest <= scanned_at <= self.latest

class RecordRow(NamedTuple):
    """One scan record ready to store: the searchable columns plus the record's JSON text."""

    id: str
    device_id: str
    scanned_at: str
    decision: str
    received_at: float
    record: Any
    venue_id: str = ""
    venue_type: str = ""
    reasons: str = " "
    issuer: str = ""
    sub: str = ""
    code_status: str = ""
    temperature_c: float | None = None
    is_alert: bool = False

    @property
    def record_json(self) -> str:
        """The record as compact JSON text (UTF-8 kept)."""
        return _ENCODER.encode(self.record)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_CANONICAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")

# the text columns of ``collector_record`` a gate's values go to, and their lengths (PostgreSQL
# refuses a longer one; tests/collector/test_records.py holds these to the model's max_length)
MAX_LENGTHS: dict[str, int] = {"venue_id": 200, "venue_type": 100, "issuer": 100, "sub": 200,
                               "code_status": 20}

_STR = (str,)
_NUMBER = (int, float)

# field -> (accepted JSON types, null allowed); bool is checked apart because bool is an int.
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "device_id": (_STR, False),
    "venue_id": (_STR, False),
    "venue_type": (_STR, False),
    "scanned_at": (_STR, False),
    "clock_trusted": ((bool,), False),
    "code": ((dict,), False),
    "temperature_c": (_NUMBER, True),
    "temperature_state": (_STR, True),
    "decision": (_STR, False),
    "decision_reasons": ((list,), False),
    "rules_version": (_STR, False),
    "trust_list_version": ((int,), True),
    "override": ((dict,), True),
}


_FIELDS_LIST = tuple(_FIELDS.items())
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class RecordError(GateError, ValueError):
    """A record that cannot be stored; `code` is one of the module's refusal words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def record_id(record: Any) -> Any:
    """The id to echo back for `record` (whatever was sent, or None)."""
    return record.get("id") if isinstance(record, dict) else None


def _type_ok(value: Any, types: tuple[type, ...], nullable: bool) -> bool:
    if value is None:
        return nullable
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def normalise_scanned_at(text: str) -> str:
    """``scanned_at`` as UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``; RecordError when it is not a time."""
    try:
        moment = datetime.fromisoformat(text)
        if _CANONICAL_TIME.match(text):
            return text  # already in the stored form: skip re-formatting
    except ValueError as exc:
        raise RecordError("bad_scanned_at") from exc
    if moment.tzinfo is None:
        raise RecordError("bad_scanned_at")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError as exc:  # year 1 at +14:00 lies before the first representable time
        raise RecordError("bad_scanned_at") from exc
    return canonical_time(moment)


def canonical_time(moment: datetime) -> str:
    """An aware time as UTC ``YYYY-MM-DDTHH:MM:SS.fffZ`` (four-digit year even before 1000)."""
    m = moment.astimezone(timezone.utc)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond // 1000:03d}Z")


def may_hold_bad_text(body: bytes) -> bool:
    """False when the JSON text `body` (valid UTF-8) can hold neither U+0000 nor a UTF-16
    surrogate: the only spelling of either is an escape (``\\u0000``, ``\\ud800``)."""
    return b"\\u0000" in body or _SURROGATE_ESCAPE.search(body) is not None


def has_bad_text(text: str) -> bool:
    """True when `text` holds a lone UTF-16 surrogate (not valid Unicode: it has no UTF-8)."""
    return _SURROGATE.search(text) is not None


def check_record(record: Any, device_id: str, received_at: float,
                 text_possible: bool = True, window: ScanWindow | None = None) -> RecordRow:
    """The row to store for `record` sent by `device_id`, or RecordError saying what is wrong.

    `text_possible=False` skips the search for U+0000 and surrogates (the caller saw the body
    can hold neither: `may_hold_bad_text`). `window`: the plausible ``scanned_at``
    (`ScanWindow`); the device API always gives its own.
    """
    if not isinstance(record, dict):
        raise RecordError("not_an_object")
    rid = record.get("id")
    if not isinstance(rid, str) or not _UUID.match(rid):
        raise RecordError("bad_id")
    for name, (types, nullable) in _FIELDS_LIST:  # _type_ok inlined: this runs per record
        try:
            value = record[name]
        except KeyError:
            raise RecordError(f"missing_field:{name}") from None
        if value is None:
            if not nullable:
                raise RecordError(f"bad_type:{name}")
        elif value is True or value is False:
            if bool not in types:
                raise RecordError(f"bad_type:{name}")
        elif not isinstance(value, types):
            raise RecordError(f"bad_type:{name}")
    if not all(isinstance(r, str) for r in record["decision_reasons"]):
        raise RecordError("bad_type:decision_reasons")
    temperature = record["temperature_c"]
    if temperature is not None:
        try:
            temperature = float(temperature)  # an integer too large for a float overflows
        except OverflowError:
            raise RecordError("bad_type:temperature_c") from None
        if not math.isfinite(temperature):
            raise RecordError("bad_type:temperature_c")
    if record["decision"] not in DECISIONS:
        raise RecordError("bad_decision")
    if text_possible:
        text = _ENCODER.encode(record)
        if has_bad_text(text):
            raise RecordError("bad_text")
        if "\\u0000" in text:
            raise RecordError("nul_character")
    if not is_id(record["device_id"]):
        raise RecordError("bad_device_id")
    if record["device_id"] != device_id:
        raise RecordError("device_mismatch")
    scanned_at = normalise_scanned_at(record["scanned_at"])
    if window is not None and not window.holds(scanned_at):
        raise RecordError("bad_scanned_at")
    code = record["code"]
    status = code.get("status")
    columns = {"venue_id": record["venue_id"], "venue_type": record["venue_type"],
               "issuer": _text(code.get("issuer")),
               "sub": _text(code.get("sub")), "code_status": _text(status)}
    for name, text in columns.items():
        if len(text) > MAX_LENGTHS[name]:
            raise RecordError(f"too_long:{name}")
    return RecordRow(
        id=rid.lower(),
        device_id=device_id,
        scanned_at=scanned_at,
        decision=record["decision"],
        received_at=received_at,
        record=record,
        venue_id=record["venue_id"],
        venue_type=record["venue_type"],
        reasons=" " + " ".join(record["decision_reasons"]) + " ",
        issuer=_text(code.get("issuer")),
        sub=_text(code.get("sub")).lower(),
        code_status=_text(status),
        temperature_c=temperature,
        is_alert=is_alert(record["decision"], status if isinstance(status, str) else None),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
