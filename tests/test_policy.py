"""Venue rules (spec/venue-rules.md): the whole matrix, re-measuring, messages and lights.

The expected decisions in this file are written from the spec's text (`expected` below), not read
from gate.policy's tables, so a wrong cell in the tables fails here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest

from gate.codes.result import VerifyResult
from gate.config import TemperatureConfig, VenueConfig
from gate.policy import (
    DECISIONS,
    LIGHTS,
    MATRIX,
    REASONS,
    RULES,
    STEPS,
    TEMPERATURE_STATES,
    Decision,
    classify_temperature,
    decide,
    message_for,
    refuse,
)

NOW = 1_795_000_000.0
VENUES = ("residential", "public_place", "metro", "bus_taxi", "special_place")
COMMUNITY = ("360102-012", "360102-013")
HOMES = {"match": "360102-013", "mismatch": "360103-001", "missing": None}


def code(status: str | None = "green", *, itinerary: bool = False, home: str | None = "360102-012") -> VerifyResult:
    if status is None:
        return VerifyResult.refused("expired")
    return VerifyResult(
        valid=True,
        reason="ok",
        status=status,
        issuer="CN-JX",
        sub="00" * 16,
        cti="aa" * 8,
        iat=int(NOW) - 3600,
        exp=int(NOW) + 3600,
        itinerary_risk=itinerary,
        home=home,
    )


@dataclass(frozen=True)
class TempCase:
    """One temperature class: the reading, the venue's `required`, the sensor, and the memory."""

    reading: float | None
    required: bool = True
    sensor: str = "mlx90614"
    last_abnormal_ago: float | None = None  # seconds before NOW, None: nothing remembered


TEMPS: dict[str, TempCase] = {
    "normal": TempCase(36.5),
    "normal_after_abnormal": TempCase(36.5, last_abnormal_ago=100),
    "just_below_fever": TempCase(37.29),
    "at_fever": TempCase(37.3),
    "abnormal_first": TempCase(38.2),
    "abnormal_within_window": TempCase(38.2, last_abnormal_ago=300),
    "abnormal_at_window_end": TempCase(38.2, last_abnormal_ago=900),
    "abnormal_after_window": TempCase(38.2, last_abnormal_ago=901),
    "unavailable_required": TempCase(None, required=True),
    "unavailable_not_required": TempCase(None, required=False),
    "unavailable_required_remembered": TempCase(None, required=True, last_abnormal_ago=100),
    "out_of_range_high_required": TempCase(45.0, required=True),
    "out_of_range_low_required": TempCase(22.0, required=True),
    "out_of_range_not_required": TempCase(45.0, required=False),
    "no_sensor_required": TempCase(None, required=True, sensor="none"),
    "no_sensor_not_required": TempCase(None, required=False, sensor="none"),
}


@dataclass(frozen=True)
class Case:
    venue: str
    status: str | None  # None: an invalid code
    temp: str
    itinerary: bool
    itinerary_check: bool
    home: str
    yellow_residents_only: bool
    strict_clock: bool
    clock_trusted: bool
    status_list: bool = True


def expected(case: Case) -> tuple[str, bool, bool]:
    """(decision, remember_abnormal, forget_abnormal), written from venue-rules.md's text."""
    t = TEMPS[case.temp]
    reading_is_body = t.reading is not None and 34.0 <= t.reading <= 43.0
    abnormal = reading_is_body and t.reading >= 37.3
    normal = reading_is_body and not abnormal
    remembered = t.last_abnormal_ago is not None

    # 0: clock not trusted with strict_clock: manual, everywhere
    if case.strict_clock and not case.clock_trusted:
        return "manual", False, False
    # 1: invalid code: deny, everywhere
    if case.status is None:
        return "deny", False, False
    # 2: red: hold, except on a bus or taxi where nobody is held: deny
    if case.status == "red":
        return ("deny" if case.venue == "bus_taxi" else "hold"), False, False
    # 3: yellow: turned away at malls, metro, special places; rides a bus; residential: own compound
    if case.status == "yellow":
        if case.venue in ("public_place", "metro", "special_place"):
            return "deny", False, False
        if case.venue == "residential" and case.yellow_residents_only and case.home != "match":
            return "deny", False, False
    # 4: temperature
    if not reading_is_body and t.required:
        return "manual", False, False
    if abnormal:
        if remembered and t.last_abnormal_ago <= 900:
            return "refer", False, True
        return "recheck", True, False
    forget = normal and remembered
    # 5: itinerary mark while itinerary checking is on
    if case.itinerary and case.itinerary_check:
        return "hold", False, forget
    # 6, then 7: an allow without a status list in force is the attendant's to decide
    return ("allow" if case.status_list else "manual"), False, forget


def all_cases(venue: str):
    for status, temp, itinerary, check, home, yro, strict, trusted, status_list in itertools.product(
        (None, "green", "yellow", "red"), TEMPS, (False, True), (False, True), HOMES, (False, True), (False, True),
        (False, True), (False, True)
    ):
        yield Case(venue, status, temp, itinerary, check, home, yro, strict, trusted, status_list)


def run(case: Case) -> Decision:
    t = TEMPS[case.temp]
    venue = VenueConfig(
        type=case.venue,
        id="v",
        community_codes=COMMUNITY,
        yellow_residents_only=case.yellow_residents_only,
        itinerary_check=case.itinerary_check,
        strict_clock=case.strict_clock,
    )
    temperature = TemperatureConfig(required=t.required, sensor=t.sensor)
    last = None if t.last_abnormal_ago is None else NOW - t.last_abnormal_ago
    return decide(
        code(case.status, itinerary=case.itinerary, home=HOMES[case.home]),
        t.reading,
        venue,
        temperature,
        last,
        NOW,
        case.clock_trusted,
        status_list_in_force=case.status_list,
    )


@pytest.mark.parametrize("venue", VENUES)
def test_the_whole_matrix_gives_the_spec_decision(venue: str) -> None:
    wrong = []
    count = 0
    for case in all_cases(venue):
        count += 1
        got = run(case)
        want_decision, want_remember, want_forget = expected(case)
        want_alert = want_decision in ("hold", "refer") or case.status == "red"
        actual = (got.decision, got.remember_abnormal, got.forget_abnormal, got.alert)
        if actual != (want_decision, want_remember, want_forget, want_alert):
            wrong.append((case, actual))
        assert set(got.reasons) <= set(REASONS), (case, got.reasons)
        assert got.temperature_state in TEMPERATURE_STATES
        assert got.rules_version == f"{venue}@2"
        assert got.message_zh and got.message_en
    assert count == 4 * len(TEMPS) * 2 * 2 * 3 * 2 * 2 * 2 * 2
    assert not wrong, f"{len(wrong)} wrong, first: {wrong[:3]}"


# --- reasons, in step order ----------------------------------------------------------------


def residential(**kw) -> VenueConfig:
    return VenueConfig(type="residential", id="v", community_codes=COMMUNITY, **kw)


def test_a_yellow_resident_with_a_normal_temperature_is_let_in_with_every_reason_in_order() -> None:
    d = decide(code("yellow", home="360102-012"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert d.decision == "allow"
    assert d.reasons == ("code_valid", "yellow", "home_matches", "temperature_normal")


def test_a_yellow_visitor_to_a_compound_is_turned_away_because_home_does_not_match() -> None:
    d = decide(code("yellow", home="360199-001"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons) == ("deny", ("code_valid", "yellow", "home_mismatch"))
    assert "本小区" in d.message_zh


def test_an_expired_code_is_refused_with_the_verifiers_reason_and_told_to_refresh() -> None:
    d = decide(VerifyResult.refused("expired"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert d.reasons == ("code_invalid", "expired")
    assert d.message_en == "The code has expired: refresh it in the app and scan again"
    assert "刷新" in d.message_zh


def test_a_red_code_on_a_bus_is_refused_but_still_an_alert() -> None:
    venue = VenueConfig(type="bus_taxi", id="bus-1")
    d = decide(code("red"), 36.6, venue, TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons, d.alert) == ("deny", ("code_valid", "red"), True)
    assert "may not ride" in d.message_en


def test_a_yellow_code_rides_the_bus() -> None:
    venue = VenueConfig(type="bus_taxi", id="bus-1")
    d = decide(code("yellow"), 36.6, venue, TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons) == ("allow", ("code_valid", "yellow", "yellow_admitted", "temperature_normal"))


def test_a_yellow_code_at_a_mall_is_turned_away_whatever_the_temperature() -> None:
    venue = VenueConfig(type="public_place", id="mall")
    for reading in (36.5, 39.0, None):
        d = decide(code("yellow"), reading, venue, TemperatureConfig(), None, NOW, True, status_list_in_force=True)
        assert (d.decision, d.reasons, d.remember_abnormal) == ("deny", ("code_valid", "yellow"), False)


def test_a_green_code_with_the_itinerary_mark_is_held_while_itinerary_checking_is_on() -> None:
    d = decide(code("green", itinerary=True), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons) == ("hold", ("code_valid", "green", "temperature_normal", "itinerary_risk"))
    off = decide(code("green", itinerary=True), 36.6, residential(itinerary_check=False), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (off.decision, off.reasons[-1]) == ("allow", "itinerary_not_checked")


def test_an_untrusted_clock_only_matters_with_strict_clock() -> None:
    strict = decide(code("green"), 36.6, residential(strict_clock=True), TemperatureConfig(), None, NOW, False, status_list_in_force=True)
    assert (strict.decision, strict.reasons) == ("manual", ("clock_untrusted",))
    lax = decide(code("green"), 36.6, residential(), TemperatureConfig(), None, NOW, False, status_list_in_force=True)
    assert lax.decision == "allow"


def test_a_reading_that_is_not_a_body_temperature_asks_to_measure_again() -> None:
    d = decide(code("green"), 50.0, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.temperature_state, d.reasons[-1]) == ("manual", "unavailable", "temperature_out_of_range")
    assert "again" in d.message_en


def test_without_required_the_code_alone_decides_when_there_is_no_reading() -> None:
    d = decide(code("green"), None, residential(), TemperatureConfig(required=False), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.temperature_state) == ("allow", "unavailable")
    none = decide(code("green"), None, residential(), TemperatureConfig(required=False, sensor="none"), None, NOW, True, status_list_in_force=True)
    assert (none.decision, none.temperature_state) == ("allow", "not_measured")


def test_the_temperature_state_describes_the_reading_even_when_an_earlier_step_decided() -> None:
    d = decide(VerifyResult.refused("bad_signature"), 38.0, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.temperature_state, d.remember_abnormal) == ("deny", "abnormal", False)


@pytest.mark.parametrize(
    ("reading", "state"),
    [(34.0, "normal"), (33.9, "unavailable"), (43.0, "abnormal"), (43.1, "unavailable"), (37.3, "abnormal"),
     (37.2, "normal"), (math.nan, "unavailable"), (math.inf, "unavailable"), (None, "unavailable")],
)
def test_temperature_classes(reading: float | None, state: str) -> None:
    assert classify_temperature(reading, TemperatureConfig())[0] == state


def test_a_venue_fever_threshold_is_used() -> None:
    assert classify_temperature(37.4, TemperatureConfig(fever_c=37.5))[0] == "normal"


# --- re-measure sequences, as the caller would keep the memory -----------------------------


class Gate:
    """The caller's side of re-measuring: a memory of (subject -> time) obeying each decision."""

    def __init__(self, venue: VenueConfig, temperature: TemperatureConfig | None = None) -> None:
        self.venue = venue
        self.temperature = temperature or TemperatureConfig()
        self.memory: dict[str, float] = {}

    def scan(self, t: float, reading: float | None, status: str = "green") -> str:
        c = code(status)
        d = decide(c, reading, self.venue, self.temperature, self.memory.get(c.sub), t, True,
                   status_list_in_force=True)
        if d.remember_abnormal:
            self.memory[c.sub] = t
        if d.forget_abnormal:
            self.memory.pop(c.sub, None)
        return d.decision


def test_abnormal_twice_within_the_window_is_referred_and_forgotten() -> None:
    gate = Gate(residential())
    assert [gate.scan(NOW + t, 38.0) for t in (0, 300, 400)] == ["recheck", "refer", "recheck"]


def test_abnormal_past_the_window_is_rechecked_and_remembered_anew() -> None:
    gate = Gate(residential())
    assert [gate.scan(NOW + t, 38.0) for t in (0, 1000, 1500)] == ["recheck", "recheck", "refer"]


def test_a_normal_reading_in_between_clears_the_memory() -> None:
    gate = Gate(residential())
    assert [gate.scan(NOW + t, r) for t, r in ((0, 38.0), (100, 36.5), (200, 38.0))] == ["recheck", "allow", "recheck"]
    assert gate.memory


def test_no_reading_in_between_keeps_the_memory() -> None:
    gate = Gate(residential())
    assert [gate.scan(NOW + t, r) for t, r in ((0, 38.0), (100, None), (200, 38.0))] == ["recheck", "manual", "refer"]
    assert not gate.memory


def test_the_venue_window_is_used() -> None:
    gate = Gate(residential(), TemperatureConfig(recheck_window_s=60))
    assert [gate.scan(NOW + t, 38.0) for t in (0, 61, 100)] == ["recheck", "recheck", "refer"]


def test_a_refer_at_a_compound_says_to_go_by_the_arranged_vehicle() -> None:
    d = decide(code("green"), 38.0, residential(), TemperatureConfig(), NOW - 10, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons[-2:], d.alert) == ("refer", ("temperature_abnormal", "fever_confirmed"), True)
    assert "vehicle" in d.message_en
    mall = decide(code("green"), 38.0, VenueConfig(type="public_place", id="m"), TemperatureConfig(), NOW - 10, NOW, True, status_list_in_force=True)
    assert "fever clinic" in mall.message_en and "vehicle" not in mall.message_en


# --- the tables themselves -----------------------------------------------------------------


def test_the_matrix_has_one_row_per_step_in_order_and_one_cell_per_venue_type() -> None:
    assert list(MATRIX) == [situation for _, situation, _ in STEPS]
    assert [step for step, _, _ in STEPS] == sorted(step for step, _, _ in STEPS)
    assert set(RULES) == set(VENUES)
    for situation, row in MATRIX.items():
        assert len(row) == len(VENUES)
        for cell in row:
            allowed = set(DECISIONS) | {"admit"}
            if situation == "yellow":
                allowed.add("home_check")
            if situation == "temperature_abnormal":
                allowed.add("remeasure")
            assert cell in allowed, (situation, cell)


def test_only_allow_opens_the_gate_and_every_decision_has_lights_and_a_message() -> None:
    assert [d for d in DECISIONS if LIGHTS[d].opens] == ["allow"]
    assert LIGHTS["hold"].buzzer and LIGHTS["hold"].blink and LIGHTS["hold"].light == "red"
    assert (LIGHTS["manual"].light, LIGHTS["manual"].blink) == ("yellow", True)
    assert (LIGHTS["refer"].light, LIGHTS["refer"].blink) == ("red", True)


def test_refusing_a_decision_for_the_store_keeps_the_gate_shut() -> None:
    allowed = decide(code("green"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    d = refuse(allowed, "store_unavailable")
    assert (d.decision, d.opens, d.reasons[-1]) == ("deny", False, "store_unavailable")
    assert d.rules_version == "residential@2" and "technician" in d.message_en
    with pytest.raises(ValueError):
        refuse(allowed, "because")


def test_an_unknown_venue_type_is_an_error_not_a_decision() -> None:
    with pytest.raises(ValueError):
        decide(code("green"), 36.6, VenueConfig(type="mall", id="m"), TemperatureConfig(), None, NOW, True, status_list_in_force=True)


def test_a_valid_code_without_a_known_status_is_refused() -> None:
    d = decide(code("purple"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert (d.decision, d.reasons) == ("deny", ("code_valid", "status_unknown"))


def test_decision_to_json_has_every_field() -> None:
    d = decide(code("green"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=True)
    assert d.to_json()["reasons"] == ["code_valid", "green", "temperature_normal"]
    assert set(d.to_json()) == {
        "decision", "reasons", "message_zh", "message_en", "temperature_state",
        "remember_abnormal", "forget_abnormal", "alert", "rules_version", "rule_id",
    }


@pytest.mark.parametrize(("decision", "reasons"), [
    ("allow", ("code_valid", "red")),  # a pair no rule gives
    ("deny", ("code_valid", "no_such_reason")),
    ("open_sesame", ("code_valid",)),
    ("hold", ()),
])
def test_message_for_refuses_a_pair_it_does_not_know(decision, reasons):
    with pytest.raises(ValueError):
        message_for(decision, reasons, "metro")


def test_an_allow_without_a_status_list_in_force_is_the_attendants_to_decide() -> None:
    d = decide(code("green"), 36.6, residential(), TemperatureConfig(), None, NOW, True, status_list_in_force=False)
    assert d.decision == "manual" and not d.opens
    assert d.reasons == ("code_valid", "green", "temperature_normal", "status_list_missing")
    assert "status list" in d.message_en


def test_without_a_status_list_a_refusal_stays_a_refusal() -> None:
    d = decide(code("yellow", home="360199-001"), 36.6, residential(), TemperatureConfig(), None, NOW, True,
               status_list_in_force=False)
    assert d.decision == "deny" and "status_list_missing" not in d.reasons


def test_the_decision_cannot_be_asked_without_saying_whether_a_status_list_is_in_force() -> None:
    with pytest.raises(TypeError):
        decide(code("green"), 36.6, residential(), TemperatureConfig(), None, NOW, True)  # type: ignore[call-arg]
