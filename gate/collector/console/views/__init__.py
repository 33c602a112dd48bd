"""The console's views, one module per page group; `gate.collector.console.urls` names them."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse


def form_refused(form: forms.Form) -> HttpResponse:
    """400 with every problem of `form` in one plain line (an export asked for with a bad query)."""
    return HttpResponse("; ".join(e for errors in form.errors.values() for e in errors),
                        status=400, content_type="text/plain; charset=utf-8")
