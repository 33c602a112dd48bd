"""The audit log (admin), read-only: there is no view that changes or deletes an entry."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gate.collector.models import AuditEntry
from gate.collector.roles import require_role

PAGE_SIZE = 100


@require_role("admin")
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.order_by("-at", "-id")
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/audit.html", {"page": page, "action": action,
                                                  "section": "audit"})
