"""Template helpers of the console: the signed-in user's role, and things in words of the page's
language (gate.collector.console.words), and decision colours from the one vocabulary."""

from __future__ import annotations

from typing import Any

from django import template

from gate.collector.console import words
from gate.collector.roles import role_of
from gate.vocabulary import DECISION_WORDS

register = template.Library()


@register.simple_tag(takes_context=True)
def current_role(context: dict[str, Any]) -> str:
    """The role of the request's user ('' when none), for showing only the pages it may open."""
    request = context.get("request")
    return (role_of(getattr(request, "user", None)) or "") if request is not None else ""


@register.filter
def setting_value(value: Any) -> str:
    """A bulletin setting's value in words (on/off, 37.5)."""
    return words.setting_value_text(value)


@register.filter
def setting_name(key: str) -> str:
    """A bulletin setting's or scope's key in words."""
    return words.setting_name(key)


@register.filter
def decision_text(decision: str) -> str:
    """A decision's headline in the page's language (gate.vocabulary)."""
    return words.decision_text(decision)


@register.filter
def decision_light(decision: str) -> str:
    """The colour of the gate's light for a decision (gate.vocabulary): green, yellow or red."""
    known = DECISION_WORDS.get(decision)
    return known.signal.light if known else "none"


@register.filter
def deciding_text(record: Any) -> str:
    """What the gate said for a record's decision and deciding reason, in the page's language."""
    return words.deciding_text(record.decision, record.reason_list, getattr(record, "venue_type", None))


@register.filter
def reason_meaning(reason: str) -> str:
    """What a reason code means (gate.vocabulary)."""
    return words.reason_meaning(reason)


@register.filter
def role_text(role: str) -> str:
    return words.role_text(role)


@register.filter
def venue_type_text(venue_type: str) -> str:
    return words.venue_type_text(venue_type)


@register.filter
def code_status_text(status: str) -> str:
    return words.code_status_text(status)


@register.filter
def apart(seconds: float) -> str:
    """Seconds between two scans in minutes and seconds."""
    return words.apart_text(seconds)
