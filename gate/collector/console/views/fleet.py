"""The fleet page: the registered gates with their latest heartbeat, filtered by state and by a
search of id or venue, sorted by a column, in pages of 50 (silent gates first by default)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from gate.collector.console.fleet import SORTS, STATES, fleet_page
from gate.collector.console.forms import sort_choices
from gate.collector.console.pages import asked_page
from gate.collector.console.views.errors import form_refused
from gate.collector.console.views.records import sort_links
from gate.collector.roles import require_role


class FleetForm(forms.Form):
    q = forms.CharField(label=_("Gate or venue contains"), required=False, max_length=200)
    state = forms.ChoiceField(required=False, choices=[(s, s) for s in STATES],
                              widget=forms.HiddenInput)
    sort = forms.ChoiceField(required=False, choices=sort_choices(SORTS), widget=forms.HiddenInput)


@require_role("viewer")
@require_GET
def fleet(request: HttpRequest) -> HttpResponse:
    form = FleetForm(request.GET)
    if not form.is_valid():
        return form_refused(request, form)
    data = form.cleaned_data
    state, sort, search = data["state"] or "all", data["sort"] or "state", data["q"].strip()
    page = fleet_page(state, sort, search, asked_page(request.GET.get("page")))
    base = request.GET.copy()
    base.pop("page", None)
    states = request.GET.copy()
    states.pop("page", None)
    filters = []
    for s in STATES:
        states["state"] = s
        filters.append({"state": s, "count": page.counts[s], "query": states.urlencode()})
    return render(request, "console/fleet.html", {
        "form": form, "page": page, "rows": page.rows, "state": state, "filters": filters,
        "sorts": sort_links(request.GET, sort, SORTS), "query": base.urlencode(),
        "now": timezone.now(), "section": "fleet"})
