"""Template helpers of the console: the signed-in user's role, and local times."""

from __future__ import annotations

import json
from typing import Any

from django import template

from gate.collector.roles import role_of

register = template.Library()


@register.simple_tag(takes_context=True)
def current_role(context: dict[str, Any]) -> str:
    """The role of the request's user ('' when none), for showing only the pages it may open."""
    request = context.get("request")
    return (role_of(getattr(request, "user", None)) or "") if request is not None else ""


@register.filter
def as_json(value: Any) -> str:
    """`value` as compact JSON with Chinese left readable (the audit log's "what")."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


@register.filter
def setting_value(value: Any) -> str:
    """A bulletin setting's value as config.md writes it (true/false, 37.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@register.filter
def decision_text(decision: str) -> str:
    """A decision's headline in the page's language (gate.vocabulary)."""
    from gate.collector.console.words import decision_text as text

    return text(decision)


@register.filter
def deciding_text(record: Any) -> str:
    """What the gate said for a record's decision and deciding reason, in the page's language."""
    from gate.collector.console.words import deciding_text as text

    return text(record.decision, record.reason_list, getattr(record, "venue_type", None))


@register.filter
def reason_meaning(reason: str) -> str:
    """What a reason code means (gate.vocabulary)."""
    from gate.collector.console.words import reason_meaning as meaning

    return meaning(reason)
