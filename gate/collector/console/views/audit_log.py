"""The audit log (admin), read-only: there is no view that changes or deletes an entry.

Shown as a person reads it (`gate.collector.console.auditwords`), newest first, filtered by the
beginning of the action (``bulletin`` finds ``bulletin.publish``), by user and by day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from gate.collector.console import auditwords
from gate.collector.console.forms import EARLIEST, LATEST
from gate.collector.console.pages import asked_page, window
from gate.collector.models import AuditEntry
from gate.collector.roles import require_role

PAGE_SIZE = 100


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action begins with"), required=False, max_length=100,
                             widget=forms.TextInput(attrs={"list": "actions", "translate": "no",
                                                           "placeholder": "bulletin"}))
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    day_from = forms.DateField(label=_("From day"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    day_to = forms.DateField(label=_("To day"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        for key in ("day_from", "day_to"):
            day = data.get(key)
            if day is not None and not EARLIEST.date() <= day <= LATEST.date():
                self.add_error(key, _("A time between 2000-01-01 and 2100-01-01, please."))
        if data.get("day_from") and data.get("day_to") and data["day_from"] > data["day_to"]:
            raise forms.ValidationError(_("The start of the range is after its end."))
        return data


@require_role("admin")
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    entries = AuditEntry.objects.order_by("-at", "-id")
    if not form.is_valid():
        return render(request, "console/audit.html", {
            "form": form, "rows": [], "page": None, "section": "audit",
            "actions": sorted(auditwords.ACTIONS)}, status=400)
    data = form.cleaned_data
    if data["action"].strip():
        entries = entries.filter(action__startswith=data["action"].strip())
    if data["user"].strip():
        entries = entries.filter(username__iexact=data["user"].strip())
    if data.get("day_from"):
        entries = entries.filter(at__gte=timezone.make_aware(datetime.combine(data["day_from"], time())))
    if data.get("day_to"):
        entries = entries.filter(at__lt=timezone.make_aware(
            datetime.combine(data["day_to"] + timedelta(days=1), time())))
    page = window(lambda offset, limit: entries[offset:offset + limit], entries.count,
                  asked_page(request.GET.get("page")), PAGE_SIZE)
    rows = [{"entry": e, "action": auditwords.action_text(e.action),
             "parts": auditwords.parts(e.what)} for e in page.rows]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "console/audit.html", {
        "form": form, "rows": rows, "page": page, "query": query.urlencode(), "section": "audit",
        "actions": sorted(auditwords.ACTIONS)})
