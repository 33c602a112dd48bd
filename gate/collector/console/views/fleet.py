"""The fleet page: every registered gate with its latest heartbeat."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from gate.collector.console.fleet import STATES, gate_rows, newest_versions
from gate.collector.roles import require_role


@require_role("viewer")
def fleet(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "all")
    if state not in STATES:
        state = "all"
    newest_trust, newest_status = newest_versions()
    rows = gate_rows(newest=(newest_trust, newest_status))
    counts = [(s, sum(1 for r in rows if s in r.states)) for s in STATES]
    shown = [r for r in rows if state in r.states]
    return render(request, "console/fleet.html", {
        "rows": shown, "state": state, "states": STATES, "counts": counts,
        "newest_trust": newest_trust, "newest_status": newest_status, "now": timezone.now(),
        "section": "fleet"})
