"""Decisions and reasons in words, in the page's language, from the one vocabulary (gate.vocabulary).

The console shows a record's decision as the gate's headline (禁止通行 / NO ENTRY), what decided it
as the sentence the gate's screen showed for that decision and deciding reason (its `Saying`), and
each reason code with its meaning. A code the vocabulary does not know (a record from a gate of
another version) is shown as it came, never dropped.
"""

from __future__ import annotations

from typing import Iterable

from django.utils.translation import get_language

from gate.vocabulary import DECISION_WORDS, REASON_MEANINGS, REASON_MEANINGS_ZH, UnknownSaying, saying


def chinese() -> bool:
    """True when the page is in Chinese."""
    return (get_language() or "").lower().startswith("zh")


def decision_text(decision: str) -> str:
    """The decision's headline on the gate's screen, in the page's language."""
    words = DECISION_WORDS.get(decision)
    if words is None:
        return decision
    return words.headline_zh if chinese() else words.headline_en


def deciding_text(decision: str, reasons: Iterable[str], venue_type: str | None = None) -> str:
    """What the gate said for this decision and its deciding (last) reason; '' when it has no words."""
    listed = list(reasons)
    try:
        said = saying(decision, listed[-1] if listed else None, venue_type or None)
    except (UnknownSaying, ValueError):
        return reason_meaning(listed[-1]) if listed else ""
    return said.zh if chinese() else said.en


def reason_meaning(reason: str) -> str:
    """What a reason code means (the vocabulary's meaning) in the page's language, or the code itself
    when unknown."""
    return (REASON_MEANINGS_ZH if chinese() else REASON_MEANINGS).get(reason, reason)
