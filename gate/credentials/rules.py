"""Acceptance as data: a venue's CertLogic rule set, judged on a verified credential (credentials.md).

A rule set is a JSON file in `firmware_config/rules/` named after it (one per venue type ships;
a bulletin may name another, `credentials.rule_set`): `{"rule_set": name, "rules": [...]}`,
each rule in the EU's business-rule format (`Identifier`, `Type`, `Country`, `Version`,
`CertificateType`, `ValidFrom`, `ValidTo`, `AffectedFields`, `Logic`). The value sets the rules
read are `firmware_config/rules/valuesets/eu.json`, written from the public EU value-set
definitions.

`judge` evaluates, on `{"payload": hcert, "external": {"validationClock", "valueSets",
"countryCode"}}`, every acceptance rule in force at the clock (the newest version of each
identifier) whose certificate type is General or the credential's own. The credential is
accepted when every one of them evaluates to exactly `true`; otherwise the first rule (in the
file's order) that does not, or that CertLogic cannot evaluate, is the one named.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.credentials import certlogic
from gate.errors import GateError

RULES_DIR = Path(__file__).resolve().parents[2] / "firmware_config" / "rules"
VALUE_SETS_FILE = RULES_DIR / "valuesets" / "eu.json"
CERT_TYPE_NAMES = {"v": "Vaccination", "t": "Test", "r": "Recovery"}
_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


class RuleSetError(GateError):
    """A rule set that cannot be used (absent, not JSON, a rule of the wrong shape)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One CertLogic business rule."""

    identifier: str
    type: str
    version: tuple[int, ...]
    certificate_type: str
    valid_from: certlogic.DateTime
    valid_to: certlogic.DateTime
    logic: Any
    description: str


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A named list of rules and the value sets they read."""

    name: str
    rules: tuple[Rule, ...]
    value_sets: Mapping[str, list[str]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a credential is accepted; when not, the identifier of the rule that refused it."""

    accepted: bool
    rule_id: str | None = None
    rules_checked: int = 0


def shipped_rule_sets(rules_dir: Path = RULES_DIR) -> tuple[str, ...]:
    """The names of the rule sets the gate ships (the *.json files of the rules folder)."""
    return tuple(sorted(p.stem for p in rules_dir.glob("*.json") if _NAME.match(p.stem)))


def load_value_sets(path: Path = VALUE_SETS_FILE) -> dict[str, list[str]]:
    """The value sets: {name: [codes]} from a file of {name: {"valueSetValues": {code: ...}}} or lists."""
    doc = _read_json(path)
    out: dict[str, list[str]] = {}
    for name, value in doc.items():
        if name.startswith("_"):  # a note for the reader, not a value set
            continue
        if isinstance(value, Mapping) and isinstance(value.get("valueSetValues"), Mapping):
            out[name] = sorted(value["valueSetValues"])
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        else:
            raise RuleSetError(f"{path}: value set {name!r} is neither a list nor a valueSetValues map")
    return out


def load_rule_set(name: str, rules_dir: Path = RULES_DIR) -> RuleSet:
    """The shipped rule set `name` with the value sets; RuleSetError when it cannot be used."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleSetError(f"rule set name {name!r} is not lower-case letters, digits and _")
    doc = _read_json(rules_dir / f"{name}.json")
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise RuleSetError(f"rule set {name}: no list of rules")
    parsed = tuple(_rule(entry, name) for entry in rules)
    return RuleSet(name=name, rules=parsed, value_sets=load_value_sets(rules_dir / "valuesets" / "eu.json"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleSetError(f"no rule file {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RuleSetError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RuleSetError(f"{path} is not a JSON object")
    return doc


def _rule(entry: Any, set_name: str) -> Rule:
    try:
        ident = entry["Identifier"]
        desc = entry.get("Description") or []
        english = next((d.get("desc") for d in desc if isinstance(d, Mapping) and d.get("lang") == "en"), "")
        version = tuple(int(part) for part in str(entry.get("Version", "1.0.0")).split("."))
        rule = Rule(
            identifier=ident, type=entry.get("Type", "Acceptance"), version=version,
            certificate_type=entry["CertificateType"],
            valid_from=certlogic.date_from_string(entry["ValidFrom"]),
            valid_to=certlogic.date_from_string(entry["ValidTo"]),
            logic=entry["Logic"], description=str(english or ""),
        )
    except (KeyError, TypeError, AttributeError, ValueError, certlogic.CertLogicError) as exc:
        raise RuleSetError(f"rule set {set_name}: a rule of the wrong shape ({exc})") from None
    if not isinstance(ident, str) or rule.certificate_type not in ("General", *CERT_TYPE_NAMES.values()):
        raise RuleSetError(f"rule set {set_name}: rule {ident!r} has an unknown certificate type")
    return rule


def in_force(rules: tuple[Rule, ...], cert_type: str, at: certlogic.DateTime) -> list[Rule]:
    """The acceptance rules for `cert_type` valid at `at`, the newest version of each identifier."""
    wanted = ("General", CERT_TYPE_NAMES.get(cert_type, ""))
    newest: dict[str, Rule] = {}
    for rule in rules:
        if rule.type != "Acceptance" or rule.certificate_type not in wanted:
            continue
        if not rule.valid_from <= at <= rule.valid_to:
            continue
        known = newest.get(rule.identifier)
        if known is None or rule.version > known.version:
            newest[rule.identifier] = rule
    order = {rule.identifier: i for i, rule in enumerate(rules)}
    return sorted(newest.values(), key=lambda r: order[r.identifier])


def clock_text(now: float) -> str:
    """A clock in seconds since the epoch as CertLogic's validationClock (UTC, with a zone)."""
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds")


def judge(rule_set: RuleSet, payload: Mapping[str, Any], cert_type: str, now: float, country: str) -> Verdict:
    """Whether the venue accepts the credential whose hcert-shaped `payload` is given, at `now`."""
    clock = clock_text(now)
    data = {"payload": payload,
            "external": {"validationClock": clock, "valueSets": dict(rule_set.value_sets), "countryCode": country}}
    rules = in_force(rule_set.rules, cert_type, certlogic.date_from_string(clock))
    for rule in rules:
        try:
            passed = certlogic.evaluate(rule.logic, data) is True
        except certlogic.CertLogicError:
            passed = False
        if not passed:
            return Verdict(accepted=False, rule_id=rule.identifier, rules_checked=len(rules))
    return Verdict(accepted=True, rules_checked=len(rules))
