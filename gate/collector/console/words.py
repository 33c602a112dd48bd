"""Decisions and reasons in words, in the page's language, from the one vocabulary (gate.vocabulary).

The console shows a record's decision as the gate's headline (禁止通行 / NO ENTRY), what decided it
as the sentence the gate's screen showed for that decision and deciding reason (its `Saying`), and
each reason code with its meaning. A code the vocabulary does not know (a record from a gate of
another version) is shown as it came, never dropped.
"""

from __future__ import annotations

from typing import Iterable

from django.utils.translation import get_language, gettext as _, gettext_lazy

from gate.vocabulary import (DECISION_WORDS, REASON_MEANINGS, REASON_MEANINGS_ZH, VENUE_TYPE_WORDS, UnknownSaying,
                            saying)


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


# --- the console's own nouns in the page's language (the catalogue: console/locale) -------------

_ROLES = {"viewer": gettext_lazy("duty officer (viewer)"), "tracer": gettext_lazy("tracer"), "admin": gettext_lazy("administrator")}
_CODE_STATUSES = {"green": gettext_lazy("green code"), "yellow": gettext_lazy("yellow code"), "red": gettext_lazy("red code")}
SETTING_NAMES = {"venue.itinerary_check": gettext_lazy("Check itinerary marks"),
                 "venue.strict_clock": gettext_lazy("Refuse when the gate's clock is not trusted"),
                 "temperature.fever_c": gettext_lazy("Fever threshold (°C)"),
                 "temperature.required": gettext_lazy("A temperature is required"),
                 "venue_types": gettext_lazy("Venue types"), "venue_id_prefixes": gettext_lazy("Venue id prefixes"),
                 "device_ids": gettext_lazy("Gate ids")}


def role_text(role: str | None) -> str:
    """A role in words ('' for none)."""
    return str(_ROLES.get(role or "", role or ""))


def venue_type_text(venue_type: str | None) -> str:
    """A venue type (config.md) in words, the gate's own (gate.vocabulary), in the page's
    language; an unknown one as it came."""
    words = VENUE_TYPE_WORDS.get(venue_type or "")
    if words is None:
        return venue_type or ""
    return words.name_zh if chinese() else words.name_en


def code_status_text(status: str | None) -> str:
    """A code's status (green, yellow, red) in words; '' for none."""
    return str(_CODE_STATUSES.get(status or "", status or ""))


def setting_name(key: str) -> str:
    """A bulletin setting or scope key in words; an unknown one as it came."""
    return str(SETTING_NAMES.get(key, key))


def setting_value_text(value: object) -> str:
    """A bulletin setting's value in words: on/off for booleans, numbers as they are."""
    if isinstance(value, bool):
        return str(gettext_lazy("on") if value else gettext_lazy("off"))
    if isinstance(value, (list, tuple)):
        return ", ".join(venue_type_text(str(v)) if v in VENUE_TYPE_WORDS else str(v) for v in value)
    return str(value)


def apart_text(seconds: float) -> str:
    """How far apart two scans were, in minutes and seconds ("4 min 30 s"), never a fraction."""
    whole = int(round(abs(seconds)))
    minutes, rest = divmod(whole, 60)
    if minutes and rest:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": rest}
    if minutes:
        return _("%(m)d min") % {"m": minutes}
    return _("%(s)d s") % {"s": rest}
