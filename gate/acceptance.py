"""The venue's acceptance of a credential (spec/credentials.md): its CertLogic rule set, loaded on
first use and kept by name, judging a valid credential's payload."""

from __future__ import annotations

import logging

from gate.codes.result import VerifyResult
from gate.config import Config
from gate.credentials.rules import RuleSet, RuleSetError, Verdict, judge, load_rule_set

log = logging.getLogger("gate.pipeline")


class Acceptance:
    """The rule sets one gate has loaded, and their verdicts."""

    def __init__(self) -> None:
        self._rule_sets: dict[str, RuleSet] = {}

    def verdict(self, code: VerifyResult, config: Config, now: float) -> Verdict | None:
        """The venue's CertLogic verdict on a valid credential, None for a code with a colour.
        The rule set is `[credentials] rule_set` (a bulletin may name another), else the venue
        type's own; one that cannot be loaded accepts nothing."""
        if not code.valid or code.payload is None:
            return None
        name = config.credentials.rule_set or config.venue.type
        rule_set = self._rule_sets.get(name)
        if rule_set is None:
            try:
                rule_set = self._rule_sets[name] = load_rule_set(name)
            except RuleSetError as exc:
                log.error("credential refused: rule set %s cannot be used: %s", name, exc)
                return Verdict(accepted=False, rule_id=None)
        return judge(rule_set, code.payload, str(code.fields.get("cert_type")), now, config.credentials.country)
