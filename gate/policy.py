"""Venue rules (spec/venue-rules.md): from a verified code and a temperature to what the gate does.

The rules are data. `MATRIX` below is the spec's matrix, one row per situation in step order and
one column per venue type, so a technician can read it and a test can enumerate it; `decide` only
walks the steps and looks up the cell. What each decision and reason is called, shown, said and
signalled is in gate.vocabulary; `LIGHTS` here is only its signal table, keyed by decision.

`decide` is a pure function: no clock, no I/O. The re-measure memory (who read abnormal, when) is
kept by the caller, which passes `last_abnormal_at` in and obeys `remember_abnormal` /
`forget_abnormal` in the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gate.codes.result import VerifyResult
from gate.config import TemperatureConfig, VenueConfig
from gate.credentials.rules import Verdict
from gate.vocabulary import CODE_STATUSES, DECISION_WORDS, DECISIONS, REASONS, VENUE_TYPES, Signal, is_alert, saying  # noqa: F401

# What a cell of the matrix may hold besides one of the six decisions.
ADMIT = "admit"  # not decided here: go on to the next step
HOME_CHECK = "home_check"  # residential yellow: admitted only if the code's home is served here (*)
REMEASURE = "remeasure"  # first abnormal reading: recheck; abnormal again within the window: refer

# The situations of the matrix, in the order the steps are taken: (step, situation, as in the spec).
STEPS: tuple[tuple[int, str, str], ...] = (
    (0, "clock_untrusted", "clock not trusted and strict_clock on"),
    (1, "code_invalid", "code invalid (any reason)"),
    (2, "red", "red"),
    (3, "yellow", "yellow"),
    (4, "temperature_unavailable", "temperature unavailable, required"),
    (4, "temperature_abnormal", "temperature abnormal"),
    (5, "itinerary_risk", "itinerary_risk and itinerary_check on"),
    (6, "otherwise", "otherwise"),
    (7, "status_list_missing", "an allow, but no status list in force"),
)

# fmt: off
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    # situation                 residential   public_place  metro        bus_taxi     special_place
    "clock_untrusted":         ("manual",     "manual",     "manual",    "manual",    "manual"),
    "code_invalid":            ("deny",       "deny",       "deny",      "deny",      "deny"),
    "red":                     ("hold",       "hold",       "hold",      "deny",      "hold"),
    "yellow":                  (HOME_CHECK,   "deny",       "deny",      ADMIT,       "deny"),
    "temperature_unavailable": ("manual",     "manual",     "manual",    "manual",    "manual"),
    "temperature_abnormal":    (REMEASURE,    REMEASURE,    REMEASURE,   REMEASURE,   REMEASURE),
    "itinerary_risk":          ("hold",       "hold",       "hold",      "hold",      "hold"),
    "otherwise":               ("allow",      "allow",      "allow",     "allow",     "allow"),
    "status_list_missing":     ("manual",     "manual",     "manual",    "manual",    "manual"),
}
# fmt: on

# Bump a venue type's number whenever its column changes; recorded with every scan ("metro@1").
RULES_VERSION: dict[str, int] = {venue_type: 2 for venue_type in VENUE_TYPES}  # 2: step 7

# venue type -> situation -> cell
RULES: dict[str, dict[str, str]] = {
    venue_type: {situation: row[column] for situation, row in MATRIX.items()}
    for column, venue_type in enumerate(VENUE_TYPES)
}

# A reading outside this range is not a body temperature (a wall, a hat, the sky): no reading.
# The one place the range is written: the thermometer reports what it measures, the rules judge.
BODY_RANGE_C: tuple[float, float] = (34.0, 43.0)


def is_body_temperature(temperature_c: float) -> bool:
    """True for a finite reading within BODY_RANGE_C (a person's forehead, not a wall or a hat)."""
    low, high = BODY_RANGE_C
    return math.isfinite(temperature_c) and low <= temperature_c <= high

TEMPERATURE_STATES: tuple[str, ...] = ("normal", "abnormal", "unavailable", "not_measured")

# The decisions, the reasons and what is said and done for each live in gate.vocabulary.
LIGHTS: dict[str, Signal] = {code: words.signal for code, words in DECISION_WORDS.items()}


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gate does about one scan, why, and what it tells people.

    `reasons` are in step order (the last one decided); `remember_abnormal` asks the caller to
    remember (subject, now) for re-measuring, `forget_abnormal` to clear that memory; `alert`
    asks for the record to be sent at once (upload.md "Alerts").
    """

    decision: str
    reasons: tuple[str, ...]
    message_zh: str
    message_en: str
    temperature_state: str
    remember_abnormal: bool = False
    forget_abnormal: bool = False
    alert: bool = False
    rules_version: str = ""
    rule_id: str | None = None  # the acceptance rule that refused a credential (credentials.md)

    @property
    def signal(self) -> Signal:
        """Relay, light and buzzer for this decision."""
        return LIGHTS[self.decision]

    @property
    def opens(self) -> bool:
        """True only for `allow`: the relay may be pulsed (after the record is committed)."""
        return LIGHTS[self.decision].opens

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object of every field."""
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "temperature_state": self.temperature_state,
            "remember_abnormal": self.remember_abnormal,
            "forget_abnormal": self.forget_abnormal,
            "alert": self.alert,
            "rules_version": self.rules_version,
            "rule_id": self.rule_id,
        }


def rules_version(venue_type: str) -> str:
    """The version of a venue type's rules, as recorded: "residential@1"."""
    return f"{venue_type}@{RULES_VERSION[venue_type]}"


def message_for(decision: str, reasons: tuple[str, ...], venue_type: str) -> tuple[str, str]:
    """The screen's message (Chinese, English) for a decision decided by the last of `reasons`.

    Raises gate.vocabulary.UnknownSaying (a ValueError) for a pair the vocabulary does not define.
    """
    said = saying(decision, reasons[-1] if reasons else None, venue_type)
    return said.zh, said.en


def classify_temperature(temperature_c: float | None, temperature: TemperatureConfig) -> tuple[str, str]:
    """(temperature_state, reason) of a calibrated reading, or of no reading (None)."""
    if temperature_c is None:
        if temperature.sensor == "none":
            return "not_measured", "temperature_not_measured"
        return "unavailable", "temperature_unavailable"
    if not is_body_temperature(temperature_c):
        return "unavailable", "temperature_out_of_range"
    if temperature_c >= temperature.fever_c:
        return "abnormal", "temperature_abnormal"
    return "normal", "temperature_normal"


def decide(
    code: VerifyResult,
    temperature_c: float | None,
    venue: VenueConfig,
    temperature: TemperatureConfig,
    last_abnormal_at: float | None,
    now: float,
    clock_trusted: bool,
    *,
    status_list_in_force: bool,
    acceptance: Verdict | None = None,
) -> Decision:
    """The decision for one scan: the steps of venue-rules.md in order, the first that decides, decides.

    `temperature_c` is the calibrated reading or None; `last_abnormal_at` is when this gate last
    remembered an abnormal reading for the code's subject (None: nothing remembered);
    `status_list_in_force` is False while the gate has never applied a good status list (step 7:
    nobody is admitted on the code alone). It has no default: a caller that does not know must
    not be taken to know. `acceptance` is the venue's CertLogic verdict on a valid credential that
    has no colour (an EU DCC or SMART Health Card, credentials.md): accepted, it is treated as
    green; refused, the scan is `deny` / `credential_not_accepted` naming the rule. A colourless
    code without a verdict is `status_unknown` (deny).
    """
    if venue.type not in RULES:
        raise ValueError(f"unknown venue type {venue.type!r}; use one of {', '.join(VENUE_TYPES)}")
    cells = RULES[venue.type]
    state, temperature_reason = classify_temperature(temperature_c, temperature)
    reasons: list[str] = []

    def done(decision: str, remember: bool = False, forget: bool = False, rule_id: str | None = None) -> Decision:
        final = tuple(reasons)
        zh, en = message_for(decision, final, venue.type)
        return Decision(
            decision=decision,
            reasons=final,
            message_zh=zh,
            message_en=en,
            temperature_state=state,
            remember_abnormal=remember,
            forget_abnormal=forget,
            alert=is_alert(decision, code.status if code.valid else None),
            rules_version=rules_version(venue.type),
            rule_id=rule_id,
        )

    # step 0
    if not clock_trusted and venue.strict_clock:
        reasons.append("clock_untrusted")
        if cells["clock_untrusted"] != ADMIT:
            return done(cells["clock_untrusted"])

    # step 1
    if not code.valid:
        reasons += ["code_invalid", code.reason]
        return done(cells["code_invalid"] if cells["code_invalid"] != ADMIT else "deny")
    reasons.append("code_valid")
    status = code.status
    if status is None and acceptance is not None:  # a credential: its acceptance rules stand for a colour
        if not acceptance.accepted:
            reasons.append("credential_not_accepted")
            return done("deny", rule_id=acceptance.rule_id)
        reasons.append("credential_accepted")
        status = "green"
    elif status not in CODE_STATUSES:
        reasons.append("status_unknown")
        return done("deny")
    else:
        reasons.append(status)

    # steps 2 and 3: a status with its own row of the matrix (red, yellow)
    if status in cells:
        cell = cells[status]
        if cell == HOME_CHECK:
            cell, why = _home_check(code, venue)
            reasons.append(why)
        elif cell == ADMIT and status == "yellow":
            reasons.append("yellow_admitted")
        if cell != ADMIT:
            return done(cell)

    # step 4
    reasons.append(temperature_reason)
    forget = state == "normal" and last_abnormal_at is not None
    if state in ("unavailable", "not_measured") and temperature.required:
        if cells["temperature_unavailable"] != ADMIT:
            return done(cells["temperature_unavailable"])
    if state == "abnormal":
        cell = cells["temperature_abnormal"]
        if cell == REMEASURE:
            if last_abnormal_at is not None and now - last_abnormal_at <= temperature.recheck_window_s:
                reasons.append("fever_confirmed")
                return done("refer", forget=True)
            return done("recheck", remember=True)
        if cell != ADMIT:
            return done(cell)

    # step 5
    if code.itinerary_risk:
        if venue.itinerary_check:
            reasons.append("itinerary_risk")
            if cells["itinerary_risk"] != ADMIT:
                return done(cells["itinerary_risk"], forget=forget)
        else:
            reasons.append("itinerary_not_checked")

    # step 6
    cell = cells["otherwise"]
    decision = cell if cell != ADMIT else "allow"

    # step 7
    if decision == "allow" and not status_list_in_force:
        reasons.append("status_list_missing")
        if cells["status_list_missing"] != ADMIT:
            decision = cells["status_list_missing"]
    return done(decision, forget=forget)


def _home_check(code: VerifyResult, venue: VenueConfig) -> tuple[str, str]:
    """Residential yellow (*): (cell, reason). Admitted when residents-only is off or home matches."""
    if not venue.yellow_residents_only:
        return ADMIT, "yellow_admitted"
    if code.home is None:
        return "deny", "home_missing"
    if code.home in venue.community_codes:
        return ADMIT, "home_matches"
    return "deny", "home_mismatch"


def refuse(decision: Decision, reason: str) -> Decision:
    """The same scan turned into `deny` for a reason outside the rules, e.g. "store_unavailable".

    The re-measure memory is left alone (nothing was recorded); an alert stays an alert.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    reasons = decision.reasons + (reason,)
    venue_type = decision.rules_version.partition("@")[0]
    zh, en = message_for("deny", reasons, venue_type)
    return Decision(
        decision="deny",
        reasons=reasons,
        message_zh=zh,
        message_en=en,
        temperature_state=decision.temperature_state,
        alert=decision.alert,
        rules_version=decision.rules_version,
    )
