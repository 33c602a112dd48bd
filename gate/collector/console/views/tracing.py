"""Contact tracing (tracer): one subject's timeline and contacts, from `gate.collector.tracing`
(the same query code as `gate collector trace`), and its CSV export; both audited."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gate.collector import tracing
from gate.collector.audit import audit
from gate.collector.console import search
from gate.collector.console.forms import TraceForm
from gate.collector.roles import require_role
from gate.collector.console.views import form_refused

CSV_COLUMNS: tuple[str, ...] = ("kind", "venue_id", "scanned_at", "issuer", "sub", "record_id",
                                "device_id", "decision", "visit_record_id", "minutes_apart")


def _run(form: TraceForm) -> tuple[dict[str, Any], dict[str, Any]]:
    data = form.cleaned_data
    window = data.get("window_min")
    window = tracing.DEFAULT_WINDOW_MIN if window is None else window
    result = tracing.trace(data["sub"], issuer=data.get("issuer") or None, start=data["start"],
                           end=data["end"], window_min=window)
    asked = {"sub": data["sub"], "issuer": data.get("issuer") or None,
             "from": data["start"].isoformat(), "to": data["end"].isoformat(), "window_min": window}
    return result, asked


def _local(text: str) -> str:
    moment = tracing.parse_time(text)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def by_venue(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The trace grouped by venue in order of the first visit: its visits and its contacts."""
    venues: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for visit in result["visits"]:
        venues.setdefault(visit["venue_id"], {"venue_id": visit["venue_id"], "visits": [],
                                              "contacts": []})
        venues[visit["venue_id"]]["visits"].append({**visit, "local": _local(visit["scanned_at"])})
    for contact in result["contacts"]:
        venues.setdefault(contact["venue_id"], {"venue_id": contact["venue_id"], "visits": [],
                                                "contacts": []})
        venues[contact["venue_id"]]["contacts"].append(
            {**contact, "local": _local(contact["scanned_at"])})
    return list(venues.values())


@require_role("tracer")
@require_GET
def trace(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "section": "trace", "traced": False}
    if request.GET and form.is_valid():
        result, asked = _run(form)
        audit(request, "trace", asked, count=len(result["visits"]) + len(result["contacts"]))
        context.update(traced=True, result=result, venues=by_venue(result),
                       query=request.GET.urlencode(),
                       timeline=[{**v, "local": _local(v["scanned_at"])} for v in result["visits"]])
    return render(request, "console/trace.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """One row per visit and per contact, in the order of console.md's output."""
    subject = result["subject"]
    rows: list[list[Any]] = []
    for v in result["visits"]:
        rows.append(["visit", v["venue_id"], v["scanned_at"], subject["issuer"] or "",
                     subject["sub"], v["record_id"], v["device_id"], v["decision"], "", ""])
    for c in result["contacts"]:
        rows.append(["contact", c["venue_id"], c["scanned_at"], c["issuer"], c["sub"],
                     c["record_id"], "", "", c["visit_record_id"], c["minutes_apart"]])
    return rows


@require_role("tracer")
@require_GET
def trace_csv(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.GET)
    if not form.is_valid():
        return form_refused(form)
    result, asked = _run(form)
    rows = csv_rows(result)
    audit(request, "trace.export", asked, count=len(rows))
    response = StreamingHttpResponse(search.csv_lines(CSV_COLUMNS, rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trace-{_safe_name(form.cleaned_data["sub"])}.csv"'
    return response


def _safe_name(sub: str) -> str:
    return "".join(ch for ch in sub if ch.isascii() and ch.isalnum())[:32] or "subject"
