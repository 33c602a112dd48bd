"""Template helper for the console's menu: whether this collector's database is a province."""

from __future__ import annotations

from django import template

from gate.collector.django_db import current_alias
from gate.collector.province.schema import is_province

register = template.Library()
_known: set[str] = set()  # aliases found to be provinces (a province never stops being one)


@register.simple_tag
def at_province() -> bool:
    """True when the current collector database holds the province's cities."""
    alias = current_alias()
    if alias in _known:
        return True
    if is_province(alias):
        _known.add(alias)
        return True
    return False
