"""Confirmation pages (Django's habit for what cannot be undone): a POST that publishes a
bulletin, disables a gate, replaces a gate's key or changes a role first answers a page saying
what will happen and to how many gates; the action is the second POST, sent from that page with
``confirmed=yes`` and the same fields."""

from __future__ import annotations


from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRMED = "confirmed"


def confirmed(request: HttpRequest) -> bool:
    """True for the second POST, sent from a confirmation page."""
    return request.method == "POST" and request.POST.get(CONFIRMED) == "yes"


def ask(request: HttpRequest, *, headline: str, lines: list[str], button: str, section: str,
        cancel: str, gates: int | None = None, details: list[tuple[str, str, bool]] | None = None,
        extra: dict[str, str] | None = None) -> HttpResponse:
    """The confirmation page for this POST: `lines` say what will happen (and `gates`, to how
    many gates); its form posts the same fields again to the same address with ``confirmed=yes``
    (and `extra`). `details` are (name, value, is_code) rows shown under the lines."""
    fields = [(name, value) for name in request.POST for value in request.POST.getlist(name)
              if name not in ("csrfmiddlewaretoken", CONFIRMED) and name not in (extra or {})]
    fields += list((extra or {}).items())
    return render(request, "console/confirm.html", {
        "headline": headline, "lines": lines, "button": button, "gates": gates,
        "details": details or [], "fields": fields, "action": request.path, "cancel": cancel,
        "section": section})


