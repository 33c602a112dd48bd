"""Acceptance as data (credentials.md): the shipped rule sets, judged as the settled details say.

The default rules: vaccination complete (dn >= sd) from 14 days after dt up to 365 days;
recovery up to 180 days after fr; a test "not detected", NAAT within 72 h, RAT within 48 h of
collection. The expectations below are written from those sentences, not from the rule files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from gate.config import VENUE_TYPES
from gate.credentials import certlogic, rules

DAY = 86400.0
HOUR = 3600.0
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc).timestamp()
PEERS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dcc" / "peers" / "dgc-business-rules-testdata"


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date().isoformat()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def vaccination(dn: int = 2, sd: int = 2, when: float = T0) -> dict:
    return {"ver": "1.3.0", "dob": "1980-01-01", "nam": {"fnt": "DOE", "gnt": "JANE"},
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                   "dn": dn, "sd": sd, "dt": _day(when), "co": "DE", "is": "RKI", "ci": "URN:UVCI:01:DE:X#Y"}]}


def recovery(fr: float = T0) -> dict:
    return {"ver": "1.3.0", "dob": "1980-01-01", "nam": {"fnt": "DOE"},
            "r": [{"tg": "840539006", "fr": _day(fr), "df": _day(fr + 11 * DAY), "du": _day(fr + 180 * DAY),
                   "co": "DE", "is": "RKI", "ci": "URN:UVCI:01:DE:R#1"}]}


def lab_test(tt: str = "LP6464-4", tr: str = "260415000", sc: float = T0) -> dict:
    return {"ver": "1.3.0", "dob": "1980-01-01", "nam": {"fnt": "DOE"},
            "t": [{"tg": "840539006", "tt": tt, "tr": tr, "sc": _iso(sc), "tc": "Lab", "co": "DE",
                   "is": "RKI", "ci": "URN:UVCI:01:DE:T#1"}]}


@pytest.fixture(scope="module")
def metro() -> rules.RuleSet:
    return rules.load_rule_set("metro")


def _verdict(rule_set, payload, kind, now):
    return rules.judge(rule_set, payload, kind, now, "CN")


def test_every_venue_type_ships_a_rule_set_that_loads():
    assert set(VENUE_TYPES) <= set(rules.shipped_rule_sets())
    for venue in VENUE_TYPES:
        assert rules.load_rule_set(venue).rules


def test_a_complete_vaccination_is_accepted_from_14_days_to_365_days(metro):
    assert _verdict(metro, vaccination(), "v", T0 + 14 * DAY).accepted
    assert _verdict(metro, vaccination(), "v", T0 + 365 * DAY).accepted
    early = _verdict(metro, vaccination(), "v", T0 + 13 * DAY)
    late = _verdict(metro, vaccination(), "v", T0 + 366 * DAY)
    assert not early.accepted and early.rule_id.startswith("VR-")
    assert not late.accepted and late.rule_id.startswith("VR-") and late.rule_id != early.rule_id


def test_an_incomplete_vaccination_is_refused_by_its_rule(metro):
    verdict = _verdict(metro, vaccination(dn=1, sd=2), "v", T0 + 30 * DAY)
    assert not verdict.accepted and verdict.rule_id.startswith("VR-")
    assert _verdict(metro, vaccination(dn=3, sd=2), "v", T0 + 30 * DAY).accepted  # a booster counts


def test_a_recovery_holds_180_days_after_the_first_positive_test(metro):
    assert _verdict(metro, recovery(), "r", T0 + 180 * DAY).accepted
    verdict = _verdict(metro, recovery(), "r", T0 + 181 * DAY)
    assert not verdict.accepted and verdict.rule_id.startswith("RR-")


def test_a_negative_naat_holds_72_hours_and_a_rapid_test_48(metro):
    assert _verdict(metro, lab_test("LP6464-4"), "t", T0 + 71 * HOUR).accepted
    assert not _verdict(metro, lab_test("LP6464-4"), "t", T0 + 73 * HOUR).accepted
    assert _verdict(metro, lab_test("LP217198-3"), "t", T0 + 47 * HOUR).accepted
    verdict = _verdict(metro, lab_test("LP217198-3"), "t", T0 + 49 * HOUR)
    assert not verdict.accepted and verdict.rule_id.startswith("TR-")


def test_a_detected_result_or_an_unknown_test_type_is_refused(metro):
    detected = _verdict(metro, lab_test(tr="260373001"), "t", T0 + HOUR)
    other = _verdict(metro, lab_test(tt="LP0000-0"), "t", T0 + HOUR)
    assert not detected.accepted and not other.accepted
    assert detected.rule_id != other.rule_id


def test_a_credential_of_two_events_is_refused_by_a_general_rule(metro):
    both = {**vaccination(), "t": lab_test()["t"]}
    verdict = _verdict(metro, both, "v", T0 + 30 * DAY)
    assert not verdict.accepted and verdict.rule_id.startswith("GR-")


def test_a_rule_that_cannot_be_evaluated_refuses_naming_itself(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(rules.RULES_DIR, folder)
    doc = json.loads((folder / "metro.json").read_text())
    doc["rules"].append({**doc["rules"][0], "Identifier": "GR-XX-0009", "Logic": {"<": [{"var": "payload.nam"}, 1]}})
    (folder / "odd.json").write_text(json.dumps(doc))
    verdict = _verdict(rules.load_rule_set("odd", folder), vaccination(), "v", T0 + 30 * DAY)
    assert (verdict.accepted, verdict.rule_id) == (False, "GR-XX-0009")


def test_only_rules_in_force_count_and_the_newest_version_wins(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(rules.RULES_DIR, folder)
    doc = json.loads((folder / "metro.json").read_text())
    refuse_all = {**doc["rules"][0], "Identifier": "GR-XX-0001", "Logic": False}
    doc["rules"] += [{**refuse_all, "ValidFrom": "2027-01-01T00:00:00Z"},  # not yet in force
                     {**refuse_all, "Identifier": "GR-XX-0002", "Version": "1.0.0"},
                     {**refuse_all, "Identifier": "GR-XX-0002", "Version": "1.1.0", "Logic": True}]
    (folder / "later.json").write_text(json.dumps(doc))
    assert _verdict(rules.load_rule_set("later", folder), vaccination(), "v", T0 + 30 * DAY).accepted


def test_a_rule_set_that_is_absent_or_misshapen_is_refused_with_a_line(tmp_path):
    with pytest.raises(rules.RuleSetError, match="no rule file"):
        rules.load_rule_set("nosuch")
    with pytest.raises(rules.RuleSetError):
        rules.load_rule_set("../metro")
    folder = tmp_path / "rules"
    shutil.copytree(rules.RULES_DIR, folder)
    (folder / "bad.json").write_text(json.dumps({"rules": [{"Identifier": "X"}]}))
    with pytest.raises(rules.RuleSetError, match="wrong shape"):
        rules.load_rule_set("bad", folder)


@pytest.mark.skipif(not PEERS.is_dir(), reason=f"EU business-rule test data absent: {PEERS}")
def test_the_eu_business_rule_tests_evaluate_as_expected():
    """1,363 tests of 194 national rules (one file has no payload): the engine on real rules."""
    wrong, count = [], 0
    for rule_file in sorted(PEERS.glob("*/*/rule.json")):
        rule = json.loads(rule_file.read_text(encoding="utf-8"))
        for case_file in sorted((rule_file.parent / "tests").glob("*.json")):
            case = json.loads(case_file.read_text(encoding="utf-8"))
            if "payload" not in case:
                continue
            count += 1
            try:
                got = certlogic.evaluate(rule["Logic"], {"payload": case["payload"], "external": case["external"]}) is True
            except certlogic.CertLogicError:
                got = False
            if got != case["expected"]:
                wrong.append(str(case_file.relative_to(PEERS)))
    assert count == 1363
    assert wrong == []
