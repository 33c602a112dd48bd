"""The one vocabulary: every decision and reason the rules can produce has every output defined,
unknown pairs are refused, and no other module spells a list of decisions or reasons."""

from __future__ import annotations

import ast
import itertools
import re
from importlib import resources
from pathlib import Path

import pytest

import gate
from gate import policy, vocabulary
from gate.codes.result import REASONS as VERIFIER_REASONS
from gate.codes.result import STATUS_NAMES, VerifyResult
from gate.config import TemperatureConfig, VenueConfig
from gate.credentials.rules import Verdict
from gate.hardware.buzzer import PATTERNS
from gate.hardware.lights import COLOURS
from gate.vocabulary import DECISIONS, REASONS, UnknownSaying, decision_words, is_alert, saying

HOME = "360102-012"
NOW = 1_700_000_000.0

# Reasons given outside `policy.decide`, each by the one place that gives it.
OUTSIDE_DECIDE = {
    "store_unavailable": "policy.refuse, when the record cannot be committed",
    "attendant_override": "pipeline.record_override",
    "bad_input": "gate verify --jsonl, for a line that is not a code at all",
}


def every_code() -> list[VerifyResult]:
    """A code for every verifier outcome, status, home and itinerary mark (from their own tables)."""
    codes = [VerifyResult.refused(r) for r in VERIFIER_REASONS if r != "ok"]
    for status, home, itinerary in itertools.product((*STATUS_NAMES, "purple"), (None, HOME, "999999-999"),
                                                    (False, True)):
        codes.append(VerifyResult(valid=True, reason="ok", status=status, issuer="CN-JX", sub="s", home=home,
                                  itinerary_risk=itinerary))
    # a credential without a colour (credentials.md), judged by the venue's acceptance rules
    codes.append(VerifyResult(valid=True, reason="ok", issuer="DCC-DE", sub="s", format="DCC",
                              fields={"cert_type": "v"}, payload={}))
    return codes


def acceptances(code: VerifyResult) -> tuple[Verdict | None, ...]:
    """The acceptance verdicts a code can come with: for a colourless credential, accepted or not."""
    if code.valid and code.status is None:
        return (None, Verdict(accepted=True), Verdict(accepted=False, rule_id="VR-CN-0002"))
    return (None,)


STATUS_OF: dict[int, str | None] = {}  # id(decision) -> the status of the code it was made for


def every_decision() -> list[tuple[str, policy.Decision]]:
    """(venue type, decision) for every combination of input the rules look at, for every venue type."""
    out = []
    for venue_type in policy.RULES:
        for residents_only, itinerary_check, strict in itertools.product((True, False), repeat=3):
            venue = VenueConfig(id="v", type=venue_type, community_codes=(HOME,), yellow_residents_only=residents_only,
                                itinerary_check=itinerary_check, strict_clock=strict)
            for sensor, required in itertools.product(("simulated", "none"), (True, False)):
                temperature = TemperatureConfig(sensor=sensor, required=required)
                for code, reading, last, trusted, lists in itertools.product(
                        every_code(), (None, 36.5, 38.2, 24.0, float("nan")), (None, NOW - 60), (True, False),
                        (True, False)):
                    for acceptance in acceptances(code):
                        decision = policy.decide(code, reading, venue, temperature, last, NOW, trusted,
                                                 status_list_in_force=lists, acceptance=acceptance)
                        out.append((venue_type, decision))
                        STATUS_OF[id(decision)] = code.status if code.valid else None
    return out


@pytest.fixture(scope="module")
def decided() -> list[tuple[str, policy.Decision]]:
    return every_decision()


def test_every_pair_the_rules_produce_has_every_output_defined(decided):
    pairs = {(venue, d.decision, d.reasons[-1]) for venue, d in decided}
    pairs |= {(venue, "deny", policy.refuse(d, "store_unavailable").reasons[-1]) for venue, d in decided[:50]}
    for venue, decision, reason in sorted(pairs):
        said = saying(decision, reason, venue)
        assert all((said.zh, said.en, said.prompt_zh, said.prompt_en)), (venue, decision, reason)
        words = decision_words(decision)
        assert words.headline_zh and words.headline_en and words.panel_class
        assert words.signal.light in COLOURS
        assert words.signal.buzzer is None or words.signal.buzzer in PATTERNS
    assert {d for _, d, _ in pairs} == set(DECISIONS), "every decision is reachable and defined"


def test_every_reason_is_given_by_the_rules_or_by_one_named_place_outside_them(decided):
    given = {r for _, d in decided for r in d.reasons}
    assert given | set(OUTSIDE_DECIDE) == set(REASONS)
    assert not given & {"store_unavailable", "attendant_override"}


def test_every_defined_saying_names_a_known_decision_and_reason():
    for (decision, reason), said in vocabulary.SAYINGS.items():
        assert decision in DECISIONS and reason in REASONS
        assert all((said.zh, said.en, said.prompt_zh, said.prompt_en))
    for (venue_type, decision, reason) in vocabulary.VENUE_SAYINGS:
        assert venue_type in policy.RULES and (decision, reason) in vocabulary.SAYINGS


def test_the_record_path_reasons_have_words():
    assert saying("manual", "status_list_missing").prompt_zh
    assert saying("deny", "store_unavailable").zh.startswith("记录无法保存")
    assert saying("allow", "attendant_override").prompt_zh == "请通行"


def test_unknown_pair_is_an_unknown_saying():
    with pytest.raises(UnknownSaying, match="no words for decision 'allow' decided by 'red'"):
        saying("allow", "red")


def test_a_venue_type_may_say_it_differently():
    assert saying("deny", "red", "bus_taxi").zh.startswith("红码人员不得乘车")
    assert saying("deny", "red", "metro").zh.startswith("红码：禁止通行")
    assert "车辆" in saying("refer", "fever_confirmed", "residential").zh


@pytest.mark.parametrize(("decision", "status", "alert"), [
    ("hold", "red", True), ("deny", "red", True), ("refer", "green", True), ("hold", "green", True),
    ("deny", "yellow", False), ("allow", "green", False), ("manual", None, False), ("recheck", "yellow", False),
])
def test_the_alert_rule_hold_refer_or_a_red_code(decision, status, alert):
    assert is_alert(decision, status) is alert


def test_the_rules_and_the_record_use_the_one_alert_rule(decided):
    for _, d in decided:
        assert d.alert == is_alert(d.decision, STATUS_OF[id(d)])
    assert {d.decision for _, d in decided if d.alert} == {"hold", "refer", "deny", "manual"}  # red at a bus: deny


@pytest.mark.parametrize(("decision", "status", "reasons", "mark", "paged"), [
    ("recheck", "yellow", ["code_valid", "yellow"], False, True),     # a yellow code
    ("allow", "green", ["code_valid", "green"], True, True),          # the code's itinerary mark
    ("allow", "green", ["itinerary_not_checked"], True, True),        # marked, though unchecked
    ("deny", "green", ["code_valid", "itinerary_risk"], False, True),  # the rule's reason
    ("allow", "green", ["code_valid", "green"], False, False),        # nothing to page for
    ("hold", "yellow", ["code_valid", "yellow"], True, False),        # an alert already
    ("deny", "red", ["code_valid", "red"], False, False),             # an alert already
])
def test_an_officer_may_be_paged_for_yellow_codes_and_itinerary_marks_that_are_no_alerts(
        decision, status, reasons, mark, paged):
    assert vocabulary.paged_on_request(decision, status, reasons, mark) is paged


def test_the_paging_rule_names_a_status_and_a_reason_the_vocabulary_knows():
    assert set(vocabulary.PAGED_ON_REQUEST_STATUSES) <= set(STATUS_NAMES)
    assert vocabulary.ITINERARY_MARK_REASON in REASONS
    assert vocabulary.ALERT_STATUS not in vocabulary.PAGED_ON_REQUEST_STATUSES


def test_the_screen_colour_is_the_light_colour():
    assert decision_words("hold").panel_class == "light-red blink"
    assert decision_words("allow").panel_class == "light-green"
    assert decision_words("manual").panel_class == "light-yellow blink"
    assert [d for d in DECISIONS if decision_words(d).signal.opens] == ["allow"]


@pytest.mark.parametrize(("celsius", "words"), [
    (36.6, "体温三十六点六度"), (37.0, "体温三十七点零度"), (40.2, "体温四十点二度"), (38.06, "体温三十八点一度"), (38.04, "体温三十八点零度"),
])
def test_a_temperature_in_mandarin_words(celsius, words):
    assert vocabulary.temperature_zh(celsius) == words


def test_the_vocabulary_as_json_has_every_decision_and_reason():
    data = vocabulary.to_json()
    assert list(data["decisions"]) == list(DECISIONS)
    assert list(data["reasons"]) == list(REASONS)


# -- no other copy ------------------------------------------------------------------------------

PACKAGE = Path(gate.__file__).parent
# The spec's matrix is keyed by situations (which share names with reasons) and holds cells.
ALLOWED = {("policy.py", "MATRIX"), ("policy.py", "STEPS")}
STATUSES = set(STATUS_NAMES)


def _name_of(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            return getattr(target, "id", "")
    return ""


def lists_of_words(path: Path) -> list[str]:
    """Literal collections in one module that name 3+ decisions or 3+ reasons (statuses aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        words = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if len(words & set(DECISIONS)) >= 3 or len((words & set(REASONS)) - STATUSES) >= 3:
            name = _name_of(node, parents)
            if (path.name, name) not in ALLOWED:
                found.append(f"{path.name}:{node.lineno} {name or '(unnamed)'}")
    return found


def test_no_module_but_the_vocabulary_spells_a_list_of_decisions_or_reasons():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) if path.name != "vocabulary.py"
             for hit in lists_of_words(path)]
    assert found == []


def test_the_list_finder_finds_a_list(tmp_path):
    """The test above can fail: a module with its own decision list is found."""
    module = tmp_path / "probe.py"
    module.write_text('COLOURS = {"allow": "green", "deny": "red", "hold": "magenta"}\n'
                      'WHY = ("expired", "bad_signature", "fever_confirmed")\n'
                      'STATUS = ("green", "yellow", "red")\n')
    assert [h.split(" ")[1] for h in lists_of_words(module)] == ["COLOURS", "WHY"]


def test_the_page_names_no_decision():
    static = resources.files("gate.display").joinpath("static")
    for name in ("display.js", "display.css", "index.html"):
        text = static.joinpath(name).read_text(encoding="utf-8")
        spelled = [d for d in DECISIONS if re.search(rf"[\"'\s:=]{d}[\"'\s:\]]", text)]
        assert spelled == [], name
        assert not any(words.headline_zh in text for words in vocabulary.DECISION_WORDS.values()), name


def test_every_reason_means_something_in_both_languages():
    from gate.vocabulary import REASON_MEANINGS, REASON_MEANINGS_ZH

    assert set(REASON_MEANINGS_ZH) == set(REASON_MEANINGS) == set(REASONS)
    assert all(text.strip() for text in REASON_MEANINGS_ZH.values())


def test_every_decision_has_a_gravity_and_a_hold_is_the_gravest():
    from gate.vocabulary import gravity
    assert sorted(DECISIONS, key=gravity)[-1] == "hold" and gravity("allow") < gravity("deny")
    assert all(gravity(d) > gravity("no-such-decision") for d in DECISIONS)
    assert len({gravity(d) for d in DECISIONS}) == len(DECISIONS)


# --- the vocabulary is the only list ------------------------------------------------------------


def _spelled_in(needle: str) -> set[str]:
    root = Path(__file__).resolve().parents[1]
    return {str(p.relative_to(root)) for folder in ("gate", "scripts") for p in (root / folder).rglob("*")
            if p.is_file() and p.suffix in (".py", ".sh") and needle in p.read_text(errors="replace")}


def test_the_venue_types_and_the_code_statuses_are_listed_once():
    from gate.vocabulary import ALERT_STATUS, CODE_STATUS_NUMBERS, CODE_STATUSES, VENUE_TYPE_WORDS, VENUE_TYPES
    # The console's catalogue of translated names (keyed by these codes) and the screenshots' sample
    # rows name venue types too; no other module lists them, the installer included.
    elsewhere = {"gate/collector/console/words.py", "scripts/console_screenshots.py"}
    assert _spelled_in('"special_place"') - elsewhere == {"gate/vocabulary.py"}
    assert _spelled_in("special_place)") == set()  # no shell or Python list of them elsewhere
    assert VENUE_TYPES == tuple(VENUE_TYPE_WORDS) and all(VENUE_TYPE_WORDS[v].name_zh for v in VENUE_TYPES)
    assert CODE_STATUS_NUMBERS == {"green": 0, "yellow": 1, "red": 2} and CODE_STATUSES[2] == ALERT_STATUS


def test_the_override_and_a_fault_have_their_signals():
    from gate.vocabulary import FAULT_SIGNAL, OVERRIDE_SIGNAL
    assert OVERRIDE_SIGNAL.opens and OVERRIDE_SIGNAL.light == "green" and OVERRIDE_SIGNAL.buzzer == "short"
    assert not FAULT_SIGNAL.opens and (FAULT_SIGNAL.light, FAULT_SIGNAL.blink) == ("yellow", True)
