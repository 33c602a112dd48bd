"""The console's refusals inside its own frame (header, navigation, a way back), in the session's
language: 400 (a parameter out of range), 403 (a page above the role), 404 and 500.

`gate.collector.urls` names `bad_request`, `forbidden`, `not_found` and `server_error` as its
handlers: a request under ``/console/`` that is not answered in JSON gets a page here; every other
request (the device API, a JSON request) gets the device API's JSON answer.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

from gate.collector import api
from gate.collector.console.words import role_text
from gate.collector.roles import wants_json


def _console_page(request: HttpRequest) -> bool:
    return request.path.startswith("/console/") and not wants_json(request)


def refusal(request: HttpRequest, status: int, headline: str, lines: list[str] | None = None,
            *, back: str = "") -> HttpResponse:
    """A page inside the console's frame saying why the request was refused (`status`)."""
    context: dict[str, Any] = {"status": status, "headline": headline, "lines": lines or [],
                               "back": back or request.META.get("HTTP_REFERER", ""),
                               "section": ""}
    try:
        body = loader.render_to_string("console/error.html", context, request)
    except Exception:  # noqa: BLE001 (a 500 page must answer even when the frame cannot render)
        body = f"{status} {headline}"
        return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, status=status)


def form_refused(request: HttpRequest, form: forms.Form) -> HttpResponse:
    """400: every problem of `form` (an export or a page asked for with a bad query)."""
    lines = [f"{form.fields[name].label}: {e}" if name in form.fields else str(e)
             for name, errors in form.errors.items() for e in errors]
    return refusal(request, 400, _("The request cannot be answered as asked."), lines)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _console_page(request):
        return HttpResponse(b'{"error": "bad_request"}', status=400, content_type="application/json")
    return refusal(request, 400, _("The request cannot be answered as asked."))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _console_page(request):
        return HttpResponse(b'{"error": "forbidden"}', status=403, content_type="application/json")
    role = exception.args[0] if exception is not None and exception.args else ""
    lines = [_("This page needs the role: %(role)s.") % {"role": role_text(role)}] if role in (
        "viewer", "tracer", "admin") else []
    return refusal(request, 403, _("Your role may not open this page."), lines)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _console_page(request):
        return api.not_found(request, exception)
    return refusal(request, 404, _("There is no such page or record."))


def server_error(request: HttpRequest) -> HttpResponse:
    if not _console_page(request):
        return api.server_error(request)
    return refusal(request, 500, _("Something went wrong on the collector; the error was logged. "
                                   "Try again, or tell the administrator."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (an old page, or another site)."""
    if not _console_page(request):
        return HttpResponse(b'{"error": "csrf"}', status=403, content_type="application/json")
    return refusal(request, 403, _("The form was too old or came from elsewhere. Reload the page "
                                   "and try again."))
