"""Venue rules (spec/venue-rules.md): from a verified code and a temperature to what the gate does.

The rules are data. `MATRIX` below is the spec's matrix, one row per situation in step order and
one column per venue type, so a technician can read it and a test can enumerate it; `decide` only
walks the steps and looks up the cell. `MESSAGES` says what the screen tells the person and the
attendant for each decision and deciding reason; `LIGHTS` says what the gate's body does.

`decide` is a pure function: no clock, no I/O. The re-measure memory (who read abnormal, when) is
kept by the caller, which passes `last_abnormal_at` in and obeys `remember_abnormal` /
`forget_abnormal` in the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gate.codes.result import REASONS as VERIFIER_REASONS
from gate.codes.result import VerifyResult
from gate.config import VENUE_TYPES, TemperatureConfig, VenueConfig

DECISIONS: tuple[str, ...] = ("allow", "deny", "recheck", "refer", "hold", "manual")

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
BODY_RANGE_C: tuple[float, float] = (34.0, 43.0)

TEMPERATURE_STATES: tuple[str, ...] = ("normal", "abnormal", "unavailable", "not_measured")

# Every reason a decision can carry, in no particular order. A decision's reasons are in the order
# the steps were taken; the last one is what decided.
REASONS: tuple[str, ...] = (
    "clock_untrusted",  # step 0: clock not trusted and strict_clock on
    "code_invalid",  # step 1, followed by the verifier's reason (bad_input: not a code at all):
    *(reason for reason in VERIFIER_REASONS if reason != "ok"),
    "code_valid",
    "status_unknown",  # a valid code whose status is none of green/yellow/red: refused
    "green",
    "yellow",
    "red",
    "home_matches",  # residential yellow: the code's home is one of the venue's community codes
    "home_mismatch",  # ... it is not
    "home_missing",  # ... the code names no home
    "yellow_admitted",  # yellow admitted without a home check (bus_taxi; yellow_residents_only off)
    "temperature_normal",
    "temperature_abnormal",
    "temperature_unavailable",  # no reading (sensor fault, no reading in time)
    "temperature_out_of_range",  # a reading outside 34.0-43.0 °C: taken as no reading
    "temperature_not_measured",  # no thermometer fitted (sensor = "none")
    "fever_confirmed",  # abnormal again within recheck_window_s of the remembered reading
    "itinerary_risk",  # step 5: the itinerary mark with itinerary_check on
    "itinerary_not_checked",  # the itinerary mark, ignored because itinerary_check is off
    "status_list_missing",  # step 7: an allow, but no status list in force (trust-list.md)
    "store_unavailable",  # outside the rules: the record could not be committed (see `refuse`)
    "attendant_override",  # outside the rules: the attendant let the person through (recorded)
)


@dataclass(frozen=True, slots=True)
class Signal:
    """What the gate's body does for a decision (venue-rules.md, "Decisions"): the one table
    both the rules and the hardware read."""

    opens: bool
    light: str  # green | yellow | red
    blink: bool
    buzzer: str | None  # a pattern of gate.hardware.buzzer (short, long, repeat), None for silence


LIGHTS: dict[str, Signal] = {
    "allow": Signal(opens=True, light="green", blink=False, buzzer="short"),
    "deny": Signal(opens=False, light="red", blink=False, buzzer="long"),
    "recheck": Signal(opens=False, light="yellow", blink=False, buzzer=None),
    "refer": Signal(opens=False, light="red", blink=True, buzzer=None),
    "hold": Signal(opens=False, light="red", blink=True, buzzer="repeat"),
    "manual": Signal(opens=False, light="yellow", blink=True, buzzer=None),
}

_NOT_A_CODE = ("请出示健康码二维码后重新扫码", "This is not a health code: show the health code and scan again")
_NOT_TRUSTED = (
    "健康码无法验证，请劝返；如有疑问请联系发码平台",
    "The code cannot be verified: turn the person away; they may ask the issuing platform",
)

# (decision, deciding reason) -> (Chinese, English); reason None: any other reason for that decision.
MESSAGES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("allow", None): ("请通行", "Please go through"),
    ("deny", None): ("禁止通行，请劝返", "Not admitted: turn the person away"),
    ("deny", "expired"): (
        "健康码已过期，请在App中刷新健康码后重新扫码",
        "The code has expired: refresh it in the app and scan again",
    ),
    ("deny", "not_yet_valid"): (
        "健康码尚未生效，请核对手机时间，刷新后重新扫码",
        "The code is not valid yet: check the phone's clock, refresh the code and scan again",
    ),
    ("deny", "validity_too_long"): (
        "健康码有效期异常，请在App中刷新后重新扫码",
        "The code's validity is wrong: refresh it in the app and scan again",
    ),
    ("deny", "key_expired"): (
        "健康码签发密钥已过期，请在App中刷新后重新扫码",
        "The code was signed with an expired key: refresh it in the app and scan again",
    ),
    ("deny", "not_a_health_code"): _NOT_A_CODE,
    ("deny", "malformed"): _NOT_A_CODE,
    ("deny", "too_large"): _NOT_A_CODE,
    ("deny", "bad_input"): _NOT_A_CODE,
    ("deny", "unsupported_critical_header"): _NOT_TRUSTED,
    ("deny", "unknown_key"): _NOT_TRUSTED,
    ("deny", "key_revoked"): _NOT_TRUSTED,
    ("deny", "alg_mismatch"): _NOT_TRUSTED,
    ("deny", "bad_signature"): _NOT_TRUSTED,
    ("deny", "issuer_mismatch"): _NOT_TRUSTED,
    ("deny", "status_unknown"): ("健康码状态无法识别，请劝返", "The code's status is not known: turn the person away"),
    ("deny", "red"): (
        "红码：禁止通行，已上报；请劝返",
        "Red code: not admitted. Turn the person away; the alert has been sent",
    ),
    ("deny", "yellow"): ("黄码人员不得进入本场所，请劝返", "Yellow code: not admitted here. Turn the person away"),
    ("deny", "home_mismatch"): (
        "黄码仅限本小区居民出入，请劝返",
        "Yellow code: only residents of this compound may enter. Turn the person away",
    ),
    ("deny", "home_missing"): (
        "黄码仅限本小区居民出入，请劝返",
        "Yellow code: only residents of this compound may enter. Turn the person away",
    ),
    ("deny", "store_unavailable"): (
        "记录无法保存，闸机保持关闭，请联系技术人员",
        "The scan could not be recorded: the gate stays shut. Call the technician",
    ),
    ("recheck", None): ("体温偏高，请休息几分钟后重新扫码测温", "Temperature high: rest a few minutes, then scan again"),
    ("refer", None): (
        "复测体温仍异常：请登记并引导至发热门诊就诊",
        "Fever confirmed on re-measure: record it and send the person to a fever clinic",
    ),
    ("hold", None): (
        "请留在原地等候，工作人员立即报告街道/乡镇",
        "Keep the person here and report to the street/township office now",
    ),
    ("hold", "red"): (
        "红码：请留在原地等候，工作人员立即报告街道/乡镇",
        "Red code: keep the person here and report to the street/township office now",
    ),
    ("hold", "itinerary_risk"): (
        "行程卡带星号：请留在原地等候，工作人员立即报告街道/乡镇",
        "Itinerary shows a stay in a risk area: keep the person here and report to the street/township office now",
    ),
    ("manual", None): ("请工作人员人工核验，放行将被记录", "Attendant: check by hand and decide; an override is recorded"),
    ("manual", "clock_untrusted"): (
        "闸机时间不可信：请工作人员人工核验健康码，放行将被记录",
        "The gate's clock is not trusted: attendant, check the code by hand; an override is recorded",
    ),
    ("manual", "temperature_unavailable"): (
        "未测到体温：请工作人员人工测温并核验，放行将被记录",
        "No temperature reading: attendant, measure by hand and decide; an override is recorded",
    ),
    ("manual", "temperature_out_of_range"): (
        "体温读数无效：请摘下帽子、正对测温探头重新扫码，或由工作人员人工测温",
        "Not a body temperature: take off the hat, face the thermometer and scan again, or the attendant measures by hand",
    ),
    ("manual", "status_list_missing"): (
        "闸机无状态列表，无法确认红黄码变化：请工作人员人工核验，放行将被记录",
        "No status list on this gate, so a raised status cannot be seen: attendant, check by hand; an override is recorded",
    ),
    ("manual", "temperature_not_measured"): (
        "本闸机无测温：请工作人员人工测温并核验，放行将被记录",
        "This gate measures no temperature: attendant, measure by hand and decide; an override is recorded",
    ),
}

# Where a venue type says it differently: (venue type, decision, reason) -> (Chinese, English).
VENUE_MESSAGES: dict[tuple[str, str, str | None], tuple[str, str]] = {
    ("bus_taxi", "deny", "red"): (
        "红码人员不得乘车，已上报；请劝返",
        "Red code: may not ride. Turn the person away; the alert has been sent",
    ),
    ("residential", "refer", None): (
        "复测体温仍异常：请登记，由安排的车辆送往发热门诊",
        "Fever confirmed on re-measure: record it; the person goes to a fever clinic by the arranged vehicle",
    ),
}


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
        }


def rules_version(venue_type: str) -> str:
    """The version of a venue type's rules, as recorded: "residential@1"."""
    return f"{venue_type}@{RULES_VERSION[venue_type]}"


def message_for(decision: str, reasons: tuple[str, ...], venue_type: str) -> tuple[str, str]:
    """The screen's message (Chinese, English) for a decision decided by the last of `reasons`."""
    reason = reasons[-1] if reasons else None
    for key in ((venue_type, decision, reason), (venue_type, decision, None)):
        if key in VENUE_MESSAGES:
            return VENUE_MESSAGES[key]
    return MESSAGES.get((decision, reason)) or MESSAGES[(decision, None)]


def classify_temperature(temperature_c: float | None, temperature: TemperatureConfig) -> tuple[str, str]:
    """(temperature_state, reason) of a calibrated reading, or of no reading (None)."""
    if temperature_c is None:
        if temperature.sensor == "none":
            return "not_measured", "temperature_not_measured"
        return "unavailable", "temperature_unavailable"
    low, high = BODY_RANGE_C
    if not math.isfinite(temperature_c) or not low <= temperature_c <= high:
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
) -> Decision:
    """The decision for one scan: the steps of venue-rules.md in order, the first that decides, decides.

    `temperature_c` is the calibrated reading or None; `last_abnormal_at` is when this gate last
    remembered an abnormal reading for the code's subject (None: nothing remembered);
    `status_list_in_force` is False while the gate has never applied a good status list (step 7:
    nobody is admitted on the code alone). It has no default: a caller that does not know must
    not be taken to know.
    """
    if venue.type not in RULES:
        raise ValueError(f"unknown venue type {venue.type!r}; use one of {', '.join(VENUE_TYPES)}")
    cells = RULES[venue.type]
    state, temperature_reason = classify_temperature(temperature_c, temperature)
    reasons: list[str] = []

    def done(decision: str, remember: bool = False, forget: bool = False) -> Decision:
        final = tuple(reasons)
        zh, en = message_for(decision, final, venue.type)
        red = code.valid and code.status == "red"
        return Decision(
            decision=decision,
            reasons=final,
            message_zh=zh,
            message_en=en,
            temperature_state=state,
            remember_abnormal=remember,
            forget_abnormal=forget,
            alert=red or decision in ("hold", "refer"),
            rules_version=rules_version(venue.type),
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
    if code.status not in ("green", "yellow", "red"):
        reasons.append("status_unknown")
        return done("deny")
    reasons.append(code.status)

    # steps 2 and 3
    if code.status in ("red", "yellow"):
        cell = cells[code.status]
        if cell == HOME_CHECK:
            cell, why = _home_check(code, venue)
            reasons.append(why)
        elif cell == ADMIT and code.status == "yellow":
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
