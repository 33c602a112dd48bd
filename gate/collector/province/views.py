"""The province's console pages (province.md): the fleet of fleets, one city's gates, every
city's alerts, and records and contact tracing across cities. Viewers see the fleet and alerts;
tracers search and trace (each search, trace and export audited at the province, as console.md).
Acknowledging stays the city's: the province only shows who did it and when."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gate.collector import tracing as city_tracing
from gate.collector.audit import audit
from gate.collector.django_db import current_alias
from gate.collector.console import search
from gate.collector.console.forms import RecordSearchForm, TraceForm
from gate.collector.console.views.errors import form_refused
from gate.collector.province import fleet, records
from gate.collector.province.alerts import province_alerts
from gate.collector.province.cities import city_states
from gate.collector.province.replica import read_alias
from gate.collector.province.site import SITE_PATTERN
from gate.collector.province.tracing import trace_sites
from gate.collector.roles import require_role

CSV_COLUMNS: tuple[str, ...] = ("kind", "site_id", "venue_id", "scanned_at", "issuer", "sub",
                                "record_id", "device_id", "decision", "visit_record_id",
                                "minutes_apart")


def _site(value: str | None) -> str | None:
    return value if value and SITE_PATTERN.fullmatch(value) else None


@require_role("viewer")
@require_GET
def cities(request: HttpRequest) -> HttpResponse:
    """The fleet of fleets."""
    primary = current_alias()  # the lag is read where the subscriptions are
    states = city_states(primary) if connections[primary].vendor == "postgresql" else []
    rows = fleet.city_rows(read_alias(), states)
    return render(request, "province/cities.html", {
        "rows": rows, "section": "province", "page": "cities",
        "totals": {"gates": sum(r.gates for r in rows), "online": sum(r.online for r in rows),
                   "silent": sum(r.silent for r in rows),
                   "behind": sum(1 for r in rows if r.behind)}})


@require_role("viewer")
@require_GET
def city(request: HttpRequest, site_id: str) -> HttpResponse:
    """One city's gates, a page at a time."""
    if not _site(site_id):
        raise Http404
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    gates, total = fleet.city_gates(read_alias(), site_id, page)
    if total == 0 and page == 1:
        raise Http404
    pages = max(1, (total + fleet.PAGE_SIZE - 1) // fleet.PAGE_SIZE)
    return render(request, "province/city.html", {
        "site_id": site_id, "gates": gates, "total": total, "page_no": page, "pages": pages,
        "previous": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None,
        "section": "province", "page": "cities"})


@require_role("viewer")
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    """Every city's alerts, newest first, with who acknowledged them in the city."""
    site_id = _site(request.GET.get("site"))
    open_only = request.GET.get("open") == "1"
    return render(request, "province/alerts.html", {
        "alerts": province_alerts(site_id, open_only), "site": site_id or "",
        "open_only": open_only, "section": "province", "page": "alerts"})


def _local(text: str) -> str:
    return timezone.localtime(city_tracing.parse_time(text)).strftime("%Y-%m-%d %H:%M:%S")


def _run_trace(form: TraceForm) -> tuple[dict[str, Any], dict[str, Any]]:
    data = form.cleaned_data
    window = data.get("window_min")
    window = city_tracing.DEFAULT_WINDOW_MIN if window is None else window
    result = trace_sites(read_alias(), data["sub"], issuer=data.get("issuer") or None,
                         start=data["start"], end=data["end"], window_min=window)
    asked = {"sub": data["sub"], "issuer": data.get("issuer") or None, "scope": "province",
             "from": data["start"].isoformat(), "to": data["end"].isoformat(),
             "window_min": window}
    return result, asked


def by_city(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The trace grouped by city, then venue, in order of the first visit."""
    cities_seen: OrderedDict[str, OrderedDict[str, dict[str, Any]]] = OrderedDict()

    def venue(site: str, venue_id: str) -> dict[str, Any]:
        return cities_seen.setdefault(site, OrderedDict()).setdefault(
            venue_id, {"venue_id": venue_id, "visits": [], "contacts": []})

    for visit in result["visits"]:
        venue(visit["site_id"], visit["venue_id"])["visits"].append(
            {**visit, "local": _local(visit["scanned_at"])})
    for contact in result["contacts"]:
        venue(contact["site_id"], contact["venue_id"])["contacts"].append(
            {**contact, "local": _local(contact["scanned_at"])})
    return [{"site_id": site, "venues": list(venues.values())}
            for site, venues in cities_seen.items()]


@require_role("tracer")
@require_GET
def trace(request: HttpRequest) -> HttpResponse:
    """Contact tracing across cities (the same query as ``gate collector trace --json``)."""
    form = TraceForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "section": "province", "page": "trace",
                               "traced": False}
    if request.GET and form.is_valid():
        result, asked = _run_trace(form)
        audit(request, "trace", asked, count=len(result["visits"]) + len(result["contacts"]))
        context.update(traced=True, result=result, cities=by_city(result),
                       query=request.GET.urlencode(),
                       timeline=[{**v, "local": _local(v["scanned_at"])}
                                 for v in result["visits"]])
    return render(request, "province/trace.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)


@require_role("tracer")
@require_GET
def trace_csv(request: HttpRequest) -> HttpResponse:
    """The trace as CSV: one row per visit and per contact, each with its city; audited."""
    form = TraceForm(request.GET)
    if not form.is_valid():
        return form_refused(request, form)
    result, asked = _run_trace(form)
    subject = result["subject"]
    rows: list[list[Any]] = [
        ["visit", v["site_id"], v["venue_id"], v["scanned_at"], subject["issuer"] or "",
         subject["sub"], v["record_id"], v["device_id"], v["decision"], "", ""]
        for v in result["visits"]]
    rows += [["contact", c["site_id"], c["venue_id"], c["scanned_at"], c["issuer"], c["sub"],
              c["record_id"], "", "", c["visit_record_id"], c["minutes_apart"]]
             for c in result["contacts"]]
    audit(request, "trace.export", asked, count=len(rows))
    response = StreamingHttpResponse(search.csv_lines(CSV_COLUMNS, rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="province-trace.csv"'
    return response


@require_role("tracer")
@require_GET
def record_search(request: HttpRequest) -> HttpResponse:
    """Records of every city (or one), by venue, gate, subject, decision and time; audited."""
    form = RecordSearchForm(request.GET or None)
    site_id = _site(request.GET.get("site"))
    context: dict[str, Any] = {"form": form, "site": site_id or "", "section": "province",
                               "page": "records", "searched": False}
    if request.GET and form.is_valid():
        found = records.search(read_alias(), {**form.cleaned_data, "site": site_id})
        audit(request, "records.search",
              {**records.asked(form.cleaned_data), "site": site_id, "scope": "province"},
              count=len(found))
        context.update(searched=True, found=found, limit=records.LIMIT)
    return render(request, "province/records.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)
