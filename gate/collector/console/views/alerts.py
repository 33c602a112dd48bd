"""The alerts page: new alerts appear without reloading (the page polls `alerts_json`); each is
acknowledged with a note (who and when kept, audited)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from gate.collector.audit import audit
from gate.collector.console import paging
from gate.collector.console.forms import AcknowledgeForm, PagingForm
from gate.collector.console.views.errors import refusal
from gate.collector.roles import require_role
from gate.vocabulary import DECISION_WORDS


@require_role("viewer")
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    open_only = request.GET.get("open") == "1"
    items = paging.feed(request.user, open_only=open_only)
    return render(request, "console/alerts.html", {
        "items": items, "open_only": open_only, "ack_form": AcknowledgeForm(),
        "paging_form": PagingForm(initial={
            "yellow_and_itinerary": paging.pages_yellow(request.user)}),
        "section": "alerts", "words": {
            "paged": _("paged"), "acknowledge": _("Acknowledge"), "placeholder": _("what was done"),
            "none": _("No alerts."), "offline": _("connection lost: retrying"),
            "sound_on": _("Sound on"), "sound_off": _("Sound off"),
            "notify_on": _("Desktop notifications on"), "notify_off": _("Desktop notifications"),
            "notify_denied": _("The browser blocks notifications for this site."),
            "notify_unsupported": _("This browser cannot show notifications."),
            "new_alert": _("New alert"), "open": _("open"),
            "lights": {code: words.signal.light for code, words in DECISION_WORDS.items()}}})


@require_role("viewer")
@require_GET
@never_cache
def alerts_json(request: HttpRequest) -> JsonResponse:
    """The same list as JSON, for the page's polling."""
    items = paging.feed(request.user, open_only=request.GET.get("open") == "1")
    return JsonResponse({"alerts": [item.to_json() for item in items]})


@require_role("viewer")
@require_POST
def acknowledge(request: HttpRequest, record_id: str) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _refused(request, 400, _("The note is too long."))
    note = form.cleaned_data["note"]
    try:
        alert = paging.acknowledge(request.user, record_id, note)
    except paging.NotPageable:
        return _refused(request, 404, _("No such alert."))
    except paging.AlreadyAcknowledged as exc:
        first = exc.alert
        return _refused(request, 409, _("Already acknowledged by %(who)s.") % {
            "who": first.acknowledged_by.get_username() if first.acknowledged_by else "?"})
    audit(request, "alert.acknowledge", {"record_id": record_id, "note": note})
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"record_id": record_id, "acknowledged_by": request.user.get_username(),
                             "acknowledged_at": alert.acknowledged_at.isoformat()})
    return redirect("console:alerts")


def _refused(request: HttpRequest, status: int, line: str) -> HttpResponse:
    """The page's script shows the plain line under the form; a browser without it gets the
    console's refusal page."""
    if request.headers.get("Accept", "").startswith("application/json"):
        return HttpResponse(line, status=status, content_type="text/plain; charset=utf-8")
    return refusal(request, status, line)


@require_role("viewer")
@require_POST
def set_paging(request: HttpRequest) -> HttpResponse:
    form = PagingForm(request.POST)
    on = form.is_valid() and form.cleaned_data["yellow_and_itinerary"]
    paging.set_pages_yellow(request.user, on)
    audit(request, "alerts.paging", {"yellow_and_itinerary": on})
    return redirect("console:alerts")
