"""Everything the gate can say about a scan, defined once: decisions, reasons, and each output.

A *decision* (venue-rules.md "Decisions") has a headline for the screen, what the gate's body
does (relay, light, buzzer: `Signal`) and whether it is an alert. A *reason* is one step's finding
(venue-rules.md "What is recorded"); the last reason of a decision is the one that decided it.
Each (decision, deciding reason) the rules can produce has a `Saying`: the screen's Chinese and
English message and the short prompt the speaker says in Chinese and English.

The rules (gate.policy), the relay/lights/buzzer (gate.hardware.body), the speaker, the screen
(gate.display, which hands the page its headlines and colour class), the records (gate.record),
the collector, the demo and the doctor all read these tables; no other module spells a list of
decisions or reasons. Add a reason here, with its texts, before a rule may give it: `saying()`
refuses a pair it does not know instead of falling back to a generic text.

This module imports nothing of the gate: every other part may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from gate.errors import GateError

# -- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    """What the gate's body does for a decision: the relay, one light and the buzzer."""

    opens: bool
    light: str  # green | yellow | red (gate.hardware.lights.COLOURS)
    blink: bool
    buzzer: str | None  # a pattern of gate.hardware.buzzer (short, long, repeat); None: silence


@dataclass(frozen=True, slots=True)
class DecisionWords:
    """One decision: its headline on the screen, its signal, and whether it is always an alert."""

    code: str
    headline_zh: str
    headline_en: str
    signal: Signal
    alert: bool  # sent at once as an alert (upload.md), whatever the code's status

    @property
    def panel_class(self) -> str:
        """The CSS class of the screen's panel: the light's colour, and `blink` when it blinks.

        Derived from the signal, so the screen shows the colour the lights show.
        """
        return f"light-{self.signal.light}" + (" blink" if self.signal.blink else "")


_DECISIONS: tuple[DecisionWords, ...] = (
    DecisionWords("allow", "可以通行", "GO AHEAD", Signal(True, "green", False, "short"), alert=False),
    DecisionWords("deny", "禁止通行", "NO ENTRY", Signal(False, "red", False, "long"), alert=False),
    DecisionWords("recheck", "请复测体温", "RE-MEASURE", Signal(False, "yellow", False, None), alert=False),
    DecisionWords("refer", "发热请登记", "FEVER: REFER", Signal(False, "red", True, None), alert=True),
    DecisionWords("hold", "请原地等候", "WAIT HERE", Signal(False, "red", True, "repeat"), alert=True),
    DecisionWords("manual", "人工核验", "ATTENDANT CHECK", Signal(False, "yellow", True, None), alert=False),
)

DECISION_WORDS: dict[str, DecisionWords] = {d.code: d for d in _DECISIONS}
DECISIONS: tuple[str, ...] = tuple(DECISION_WORDS)

# What the gate's body does outside a decision.
# The attendant's override (the button, or the screen): the gate opens once, green, a short beep.
OVERRIDE_SIGNAL = Signal(True, "green", False, "short")
# The gate cannot scan (a fault that shuts it): shut, yellow blinking; the buzzer is left as it is.
FAULT_SIGNAL = Signal(False, "yellow", True, None)

# -- code statuses -----------------------------------------------------------------------------

# health-code.md §3: a code's status, by the number the code carries (0, 1, 2). Every list of
# statuses in the gate (the verifier's result, the issuer, the rules, the collector) is this one.
CODE_STATUSES: tuple[str, ...] = ("green", "yellow", "red")
CODE_STATUS_NUMBERS: dict[str, int] = {name: number for number, name in enumerate(CODE_STATUSES)}

# A code of this status makes every scan of it an alert (venue-rules.md "Alerts").
ALERT_STATUS = CODE_STATUSES[2]

# -- venue types -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueTypeWords:
    """One venue type (venue-rules.md): its code in the configuration, and its names."""

    code: str
    name_zh: str
    name_en: str


_VENUE_TYPES: tuple[VenueTypeWords, ...] = (
    VenueTypeWords("residential", "住宅小区", "Residential compound"),
    VenueTypeWords("public_place", "公共场所", "Public place"),
    VenueTypeWords("metro", "地铁站", "Metro station"),
    VenueTypeWords("bus_taxi", "公交/出租车", "Bus or taxi"),
    VenueTypeWords("special_place", "特殊场所", "Special place"),
)
VENUE_TYPE_WORDS: dict[str, VenueTypeWords] = {v.code: v for v in _VENUE_TYPES}
# The venue types, in the order of the rule tables' columns (gate.policy): the only list of them.
VENUE_TYPES: tuple[str, ...] = tuple(VENUE_TYPE_WORDS)

# How serious each decision is, least first: a person seen in several records is shown by the worst.
_GRAVITY: tuple[str, ...] = ("allow", "recheck", "manual", "deny", "refer", "hold")


def gravity(decision: str) -> int:
    """How serious `decision` is (0 for an unknown word, below every known one)."""
    return _GRAVITY.index(decision) + 1 if decision in _GRAVITY else 0


def is_alert(decision: str, code_status: str | None) -> bool:
    """Whether a scan is also sent at once as an alert: a hold, a refer, or a red code."""
    return decision_words(decision).alert or code_status == ALERT_STATUS


def decision_words(decision: str) -> DecisionWords:
    """The definition of `decision`; ValueError for a decision the gate does not know."""
    try:
        return DECISION_WORDS[decision]
    except KeyError:
        raise ValueError(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}") from None


# -- reasons -----------------------------------------------------------------------------------

# health-code.md §4: every reason a verification can end with, in check order ("ok": valid).
VERIFIER_REASONS: tuple[str, ...] = (
    "ok",
    "not_a_health_code",
    "too_large",
    "malformed",
    "unsupported_critical_header",
    "unknown_key",
    "key_revoked",
    "alg_mismatch",
    "bad_signature",
    "issuer_mismatch",
    "key_expired",
    "not_yet_valid",
    "expired",
    "validity_too_long",
    "key_usage",  # credentials.md: a DSC whose DCC key usage does not cover the certificate's type
    "revoked",    # credentials.md: the status list's revoked_hashes name this credential
    "bad_input",  # not a code to judge at all: a `now` that is not a finite number (cli.md)
)

# Every reason a decision can carry, with what it means. A decision's reasons are in the order the
# steps were taken (venue-rules.md); the last one is what decided.
REASON_MEANINGS: dict[str, str] = {
    "clock_untrusted": "step 0: the gate's clock is not trusted and strict_clock is on",
    "code_invalid": "step 1: the code is not valid; the verifier's reason follows",
    **{r: f"the verifier's reason: {r.replace('_', ' ')}" for r in VERIFIER_REASONS if r != "ok"},
    "bad_input": "the verifier was given something that is not a code at all (cli.md)",
    "code_valid": "step 1: the code is genuine, current and trusted",
    "status_unknown": "a valid code whose status is none of green, yellow, red",
    "green": "the code's effective status is green",
    "yellow": "the code's effective status is yellow",
    "red": "the code's effective status is red",
    "credential_accepted": "step 1: a DCC or SHC that passes every acceptance rule of the venue: treated as green",
    "credential_not_accepted": "step 1: a valid DCC or SHC that fails an acceptance rule of the venue (the rule is recorded)",
    "home_matches": "residential yellow: the code's home is one of the venue's community codes",
    "home_mismatch": "residential yellow: the code's home is not served here",
    "home_missing": "residential yellow: the code names no home",
    "yellow_admitted": "yellow admitted without a home check",
    "temperature_normal": "step 4: below fever_c",
    "temperature_abnormal": "step 4: at or above fever_c",
    "temperature_unavailable": "step 4: no reading (sensor fault, nobody in front of it in time)",
    "temperature_out_of_range": "step 4: a reading outside the body range: not a body, taken as no reading",
    "temperature_not_measured": "step 4: no thermometer fitted",
    "fever_confirmed": "step 4: abnormal again within recheck_window_s of the remembered reading",
    "itinerary_risk": "step 5: the itinerary mark, with itinerary_check on",
    "itinerary_not_checked": "step 5: the itinerary mark, ignored because itinerary_check is off",
    "status_list_missing": "step 7: an allow, but no status list is in force",
    "store_unavailable": "outside the rules: the record could not be committed, the gate stays shut",
    "attendant_override": "outside the rules: the attendant let the person through (recorded)",
}

# The same meanings in Chinese, for the console's pages in Chinese (every key of REASON_MEANINGS).
_VERIFIER_REASONS_ZH: dict[str, str] = {
    "not_a_health_code": "不是健康码", "too_large": "二维码内容过大", "malformed": "健康码格式错误",
    "unsupported_critical_header": "含不支持的关键头部", "unknown_key": "签名密钥不在信任列表中",
    "key_revoked": "签名密钥已吊销", "alg_mismatch": "签名算法与密钥不符", "bad_signature": "签名无效",
    "issuer_mismatch": "签发方与密钥不符", "key_expired": "签名密钥已过期", "not_yet_valid": "健康码尚未生效",
    "expired": "健康码已过期", "validity_too_long": "健康码有效期超过密钥允许",
    "key_usage": "签发证书无权签发此类凭证", "revoked": "凭证已被吊销",
}
REASON_MEANINGS_ZH: dict[str, str] = {
    "clock_untrusted": "第0步：闸机时钟不可信且开启了严格时钟",
    "code_invalid": "第1步：健康码无效，后附验证原因",
    **{r: f"验证原因：{_VERIFIER_REASONS_ZH[r]}" for r in VERIFIER_REASONS if r not in ("ok", "bad_input")},
    "bad_input": "验证输入根本不是健康码（cli.md）",
    "code_valid": "第1步：健康码真实、有效且受信任",
    "status_unknown": "有效健康码，但状态不是绿、黄、红之一",
    "green": "健康码当前状态为绿码",
    "yellow": "健康码当前状态为黄码",
    "red": "健康码当前状态为红码",
    "credential_accepted": "第1步：欧盟数字新冠证书或SMART健康卡符合本场所全部准入规则，视同绿码",
    "credential_not_accepted": "第1步：有效的欧盟数字新冠证书或SMART健康卡不符合本场所某条准入规则（已记录规则编号）",
    "home_matches": "住宅小区黄码：住址属于本小区",
    "home_mismatch": "住宅小区黄码：住址不属于本小区",
    "home_missing": "住宅小区黄码：健康码未载明住址",
    "yellow_admitted": "黄码放行，未核对住址",
    "temperature_normal": "第4步：体温低于发热阈值",
    "temperature_abnormal": "第4步：体温达到或超过发热阈值",
    "temperature_unavailable": "第4步：无体温读数（传感器故障或未及时测到）",
    "temperature_out_of_range": "第4步：读数超出人体范围，视为无读数",
    "temperature_not_measured": "第4步：未安装测温仪",
    "fever_confirmed": "第4步：在复测时限内再次体温异常",
    "itinerary_risk": "第5步：行程卡带星号，且开启了行程核验",
    "itinerary_not_checked": "第5步：行程卡带星号，但行程核验已关闭",
    "status_list_missing": "第7步：本应放行，但无有效状态列表",
    "store_unavailable": "规则之外：记录无法保存，闸机保持关闭",
    "attendant_override": "规则之外：值守人员放行（已记录）",
}
REASONS: tuple[str, ...] = tuple(REASON_MEANINGS)


# -- paged on request --------------------------------------------------------------------------

# venue-rules.md "Alerts": a collector may also page its duty officer, when the officer chose so,
# for scans that are no alert but carry a yellow code or an itinerary mark. A scan carries the
# mark when its code has it (whether or not the venue checked it) or a rule gave this reason.
PAGED_ON_REQUEST_STATUSES: tuple[str, ...] = ("yellow",)
ITINERARY_MARK_REASON = "itinerary_risk"


def paged_on_request(decision: str, code_status: str | None, reasons: list[str] | tuple[str, ...],
                     itinerary_mark: bool) -> bool:
    """Whether a scan is one an officer may choose to be paged for: no alert, and a yellow code
    or an itinerary mark (its code's `itinerary_risk`, or the reason `ITINERARY_MARK_REASON`)."""
    if is_alert(decision, code_status):
        return False
    return (code_status in PAGED_ON_REQUEST_STATUSES or itinerary_mark
            or ITINERARY_MARK_REASON in reasons)


# -- what is said ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Saying:
    """What the gate says for one decision with one deciding reason.

    `zh`/`en` are the screen's message (for the person and the attendant); `prompt_zh` and
    `prompt_en` are what the speaker says aloud: short, for the person at the gate.
    """

    zh: str
    en: str
    prompt_zh: str
    prompt_en: str

    def to_json(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en, "prompt_zh": self.prompt_zh, "prompt_en": self.prompt_en}


_NOT_A_CODE = Saying(
    "请出示健康码二维码后重新扫码", "This is not a health code: show the health code and scan again",
    "请出示健康码", "Please show your health code",
)
_NOT_TRUSTED = Saying(
    "健康码无法验证，请劝返；如有疑问请联系发码平台",
    "The code cannot be verified: turn the person away; they may ask the issuing platform",
    "健康码无法验证，禁止通行", "This code cannot be verified",
)
_REFRESH = ("请刷新健康码后重新扫码", "Please refresh your code and scan again")
_YELLOW_RESIDENTS = Saying(
    "黄码仅限本小区居民出入，请劝返",
    "Yellow code: only residents of this compound may enter. Turn the person away",
    "黄码，禁止通行", "Yellow code. Entry refused",
)
_GO = Saying("请通行", "Please go through", "请通行", "Please go through")
_ATTENDANT = Saying(
    "请工作人员人工核验，放行将被记录", "Attendant: check by hand and decide; an override is recorded",
    "请稍候，工作人员核验", "Please wait for the attendant",
)
_NO_TEMPERATURE = Saying(
    "未测到体温：请工作人员人工测温并核验，放行将被记录",
    "No temperature reading: attendant, measure by hand and decide; an override is recorded",
    "未测到体温，请稍候，工作人员核验", "No temperature reading. Please wait for the attendant",
)
_NOT_A_BODY = Saying(
    "体温读数无效：请摘下帽子、正对测温探头重新扫码，或由工作人员人工测温",
    "Not a body temperature: take off the hat, face the thermometer and scan again, "
    "or the attendant measures by hand",
    "请正对测温探头，重新测温", "Please face the thermometer and measure again",
)
_NOT_MEASURED = Saying(
    "本闸机无测温：请工作人员人工测温并核验，放行将被记录",
    "This gate measures no temperature: attendant, measure by hand and decide; an override is recorded",
    "请稍候，工作人员测温", "Please wait for the attendant to take your temperature",
)
_HOLD = Saying(
    "请留在原地等候，工作人员立即报告街道/乡镇",
    "Keep the person here and report to the street/township office now",
    "请在原地等候工作人员", "Please wait here for the attendant",
)

# (decision, deciding reason) -> what is said. Every pair the rules can produce is here;
# tests/test_vocabulary.py runs the rules over every kind of input to prove it.
SAYINGS: dict[tuple[str, str], Saying] = {
    # allow: the last step taken was the temperature or the itinerary
    **{("allow", r): _GO for r in (
        "temperature_normal", "temperature_unavailable", "temperature_out_of_range",
        "temperature_not_measured", "itinerary_not_checked", "attendant_override",
    )},
    # deny: an invalid code (the verifier's reason decides), a status, a home, no record
    **{("deny", r): _NOT_A_CODE for r in ("not_a_health_code", "malformed", "too_large", "bad_input")},
    **{("deny", r): _NOT_TRUSTED for r in (
        "unsupported_critical_header", "unknown_key", "key_revoked", "alg_mismatch", "bad_signature",
        "issuer_mismatch", "key_usage", "revoked",
    )},
    ("deny", "credential_not_accepted"): Saying(
        "证书真实有效，但不符合本场所的准入规则，请劝返",
        "The certificate is genuine but not accepted at this venue: turn the person away",
        "证书不符合本场所准入要求，禁止通行", "Your certificate is not accepted here",
    ),
    ("deny", "expired"): Saying(
        "健康码已过期，请在App中刷新健康码后重新扫码", "The code has expired: refresh it in the app and scan again",
        "健康码已过期，" + _REFRESH[0], "Your code has expired. " + _REFRESH[1],
    ),
    ("deny", "not_yet_valid"): Saying(
        "健康码尚未生效，请核对手机时间，刷新后重新扫码",
        "The code is not valid yet: check the phone's clock, refresh the code and scan again",
        "健康码尚未生效，" + _REFRESH[0], "Your code is not valid yet. " + _REFRESH[1],
    ),
    ("deny", "validity_too_long"): Saying(
        "健康码有效期异常，请在App中刷新后重新扫码", "The code's validity is wrong: refresh it in the app and scan again",
        "健康码有效期异常，" + _REFRESH[0], "Your code's validity is wrong. " + _REFRESH[1],
    ),
    ("deny", "key_expired"): Saying(
        "健康码签发密钥已过期，请在App中刷新后重新扫码",
        "The code was signed with an expired key: refresh it in the app and scan again",
        _REFRESH[0], _REFRESH[1],
    ),
    ("deny", "status_unknown"): Saying(
        "健康码状态无法识别，请劝返", "The code's status is not known: turn the person away",
        "健康码状态无法识别，禁止通行", "Code status unknown. Entry refused",
    ),
    ("deny", "red"): Saying(
        "红码：禁止通行，已上报；请劝返", "Red code: not admitted. Turn the person away; the alert has been sent",
        "红码，禁止通行", "Red code. Entry refused",
    ),
    ("deny", "yellow"): Saying(
        "黄码人员不得进入本场所，请劝返", "Yellow code: not admitted here. Turn the person away",
        "黄码，禁止通行", "Yellow code. Entry refused",
    ),
    ("deny", "home_mismatch"): _YELLOW_RESIDENTS,
    ("deny", "home_missing"): _YELLOW_RESIDENTS,
    ("deny", "store_unavailable"): Saying(
        "记录无法保存，闸机保持关闭，请联系技术人员",
        "The scan could not be recorded: the gate stays shut. Call the technician",
        "系统故障，请联系工作人员", "System fault. Please see the attendant",
    ),
    ("recheck", "temperature_abnormal"): Saying(
        "体温偏高，请休息几分钟后重新扫码测温", "Temperature high: rest a few minutes, then scan again",
        "体温偏高，请休息几分钟后复测", "Your temperature is high. Please rest, then measure again",
    ),
    ("refer", "fever_confirmed"): Saying(
        "复测体温仍异常：请登记并引导至发热门诊就诊",
        "Fever confirmed on re-measure: record it and send the person to a fever clinic",
        "体温异常，请听从工作人员安排", "Fever confirmed. Please follow the attendant",
    ),
    ("hold", "red"): Saying(
        "红码：请留在原地等候，工作人员立即报告街道/乡镇",
        "Red code: keep the person here and report to the street/township office now",
        _HOLD.prompt_zh, _HOLD.prompt_en,
    ),
    ("hold", "itinerary_risk"): Saying(
        "行程卡带星号：请留在原地等候，工作人员立即报告街道/乡镇",
        "Itinerary shows a stay in a risk area: keep the person here and report to the "
        "street/township office now",
        _HOLD.prompt_zh, _HOLD.prompt_en,
    ),
    ("manual", "clock_untrusted"): Saying(
        "闸机时间不可信：请工作人员人工核验健康码，放行将被记录",
        "The gate's clock is not trusted: attendant, check the code by hand; an override is recorded",
        _ATTENDANT.prompt_zh, _ATTENDANT.prompt_en,
    ),
    ("manual", "temperature_unavailable"): _NO_TEMPERATURE,
    ("manual", "temperature_out_of_range"): _NOT_A_BODY,
    ("manual", "temperature_not_measured"): _NOT_MEASURED,
    ("manual", "status_list_missing"): Saying(
        "无有效状态列表：请工作人员人工核验健康码，放行将被记录",
        "No status list in force: attendant, check the code by hand; an override is recorded",
        _ATTENDANT.prompt_zh, _ATTENDANT.prompt_en,
    ),
}

# Where a venue type says it differently: (venue type, decision, reason) -> what is said.
VENUE_SAYINGS: dict[tuple[str, str, str], Saying] = {
    ("bus_taxi", "deny", "red"): Saying(
        "红码人员不得乘车，已上报；请劝返", "Red code: may not ride. Turn the person away; the alert has been sent",
        "红码，不得乘车", "Red code. You may not ride",
    ),
    ("residential", "refer", "fever_confirmed"): Saying(
        "复测体温仍异常：请登记，由安排的车辆送往发热门诊",
        "Fever confirmed on re-measure: record it; the person goes to a fever clinic by the arranged vehicle",
        "体温异常，请听从工作人员安排", "Fever confirmed. Please follow the attendant",
    ),
}


class UnknownSaying(GateError, ValueError):
    """The gate has no words for a (decision, reason) pair: a rule gave something undefined."""


def saying(decision: str, reason: str | None, venue_type: str | None = None) -> Saying:
    """What the gate says for `decision` decided by `reason` (at a venue of `venue_type`).

    Raises UnknownSaying for a pair that is not defined: a rule that produces one is a bug
    to fix here, never a generic text on the screen.
    """
    decision_words(decision)
    if reason is not None and reason not in REASON_MEANINGS:
        raise UnknownSaying(f"unknown reason {reason!r}: add it to gate.vocabulary")
    if venue_type is not None and reason is not None and (venue_type, decision, reason) in VENUE_SAYINGS:
        return VENUE_SAYINGS[(venue_type, decision, reason)]
    try:
        return SAYINGS[(decision, reason)]  # type: ignore[index]
    except KeyError:
        raise UnknownSaying(
            f"no words for decision {decision!r} decided by {reason!r}: add the pair to gate.vocabulary"
        ) from None


# -- spoken numbers ----------------------------------------------------------------------------

_DIGITS_ZH = "零一二三四五六七八九"


def temperature_zh(celsius: float) -> str:
    """A body temperature as Mandarin words: 36.6 -> "体温三十六点六度" (rounded as the screen shows it)."""
    whole_text, _, tenth_text = f"{abs(celsius):.1f}".partition(".")
    whole, tenth = int(whole_text), int(tenth_text)
    tens, ones = divmod(whole, 10)
    words = ("" if tens < 2 else _DIGITS_ZH[tens]) + ("十" if tens else "") + (_DIGITS_ZH[ones] if ones or not tens else "")
    return f"体温{words}点{_DIGITS_ZH[tenth]}度"


def temperature_en(celsius: float) -> str:
    """A body temperature as English words for the speaker: 36.6 -> "Temperature 36.6 degrees"."""
    return f"Temperature {celsius:.1f} degrees"


# -- the gate out of service (spec/setup.md "Service mode") -------------------------------------

OUT_OF_SERVICE_ZH = "维护中"  # the screen: "维护中 · Out of service" while the technician works on the gate
OUT_OF_SERVICE_EN = "Out of service"


def to_json() -> dict[str, Any]:
    """The whole vocabulary as plain JSON (served to the screen as /vocabulary.json)."""
    return {
        "decisions": {
            d.code: {"headline_zh": d.headline_zh, "headline_en": d.headline_en, "panel_class": d.panel_class,
                     "opens": d.signal.opens, "light": d.signal.light, "blink": d.signal.blink,
                     "buzzer": d.signal.buzzer, "alert": d.alert}
            for d in _DECISIONS
        },
        "reasons": dict(REASON_MEANINGS),
        "sayings": [{"decision": d, "reason": r, **s.to_json()} for (d, r), s in SAYINGS.items()],
        "venue_sayings": [{"venue_type": v, "decision": d, "reason": r, **s.to_json()}
                          for (v, d, r), s in VENUE_SAYINGS.items()],
    }
