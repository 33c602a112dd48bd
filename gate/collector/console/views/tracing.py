"""Contact tracing (tracer): one person's timeline and the people near them, from
`gate.collector.tracing` (the same query code as `gate collector trace`), and its CSV export; both
audited.

Contacts are shown as people (one row per issuer and subject, with their records, decision and
code status); a contact's name traces that person over the same range and window, and the chain
of people traced so far is carried in ``?via=ISSUER:SUB`` and shown as a breadcrumb.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gate.collector import tracing
from gate.collector.audit import audit
from gate.collector.console import search
from gate.collector.console.forms import TraceForm, trace_chain
from gate.collector.console.views.errors import form_refused, refusal
from gate.collector.roles import require_role

CSV_COLUMNS: tuple[str, ...] = ("kind", "venue_id", "scanned_at", "issuer", "sub", "record_id",
                                "device_id", "decision", "code_status", "visit_record_id",
                                "minutes_apart", "seconds_apart")


def _run(form: TraceForm) -> tuple[dict[str, Any], dict[str, Any]]:
    data = form.cleaned_data
    window = data.get("window_min")
    window = tracing.DEFAULT_WINDOW_MIN if window is None else window
    result = tracing.trace(data["sub"], issuer=data.get("issuer") or None, start=data["start"],
                           end=data["end"], window_min=window, details=True)
    asked = {"sub": data["sub"], "issuer": data.get("issuer") or None,
             "from": data["start"].isoformat(), "to": data["end"].isoformat(), "window_min": window}
    return result, asked


def local_time(text: str) -> datetime:
    """A trace's UTC time in the collector's time zone."""
    return timezone.localtime(tracing.parse_time(text))


def _local(text: str) -> str:
    return local_time(text).strftime("%Y-%m-%d %H:%M:%S")


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
    for venue in venues.values():
        venue["people"] = len({(c["issuer"], c["sub"]) for c in venue["contacts"]})
    return list(venues.values())


def _same_range(form: TraceForm) -> dict[str, Any]:
    """The range and window of this trace as query parameters, for tracing someone else."""
    data = form.cleaned_data
    asked = {"start": timezone.localtime(data["start"]).strftime("%Y-%m-%dT%H:%M:%S"),
             "end": timezone.localtime(data["end"]).strftime("%Y-%m-%dT%H:%M:%S")}
    if data.get("window_min") is not None:
        asked["window_min"] = data["window_min"]
    return asked


def trace_link(issuer: str, sub: str, span: dict[str, Any], chain: list[tuple[str, str]]) -> str:
    """The query string tracing (issuer, sub) over `span`, reached through `chain`."""
    pairs: list[tuple[str, Any]] = [("sub", sub), ("issuer", issuer), *span.items()]
    pairs += [("via", f"{i}:{s}") for i, s in chain]
    return urlencode(pairs)


def people_of(result: dict[str, Any], span: dict[str, Any], chain: list[tuple[str, str]],
              here: tuple[str, str]) -> list[dict[str, Any]]:
    """The contacts as people, each with the link that traces them (second degree)."""
    found = tracing.people(result)
    for person in found:
        person["link"] = trace_link(person["issuer"], person["sub"], span, [*chain, here])
        person["first_local"] = _local(person["records"][0]["scanned_at"])
        person["in_chain"] = (person["issuer"], person["sub"]) in chain
    return found


@require_role("tracer")
@require_GET
def trace(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "section": "trace", "traced": False}
    if request.GET and form.is_valid():
        try:
            chain = trace_chain(request.GET.getlist("via"))
        except forms.ValidationError as exc:
            return refusal(request, 400, str(exc.messages[0]))
        result, asked = _run(form)
        if chain:
            asked["via"] = [f"{i}:{s}" for i, s in chain]
        audit(request, "trace", asked, count=len(result["visits"]) + len(result["contacts"]))
        span = _same_range(form)
        here = (form.cleaned_data.get("issuer") or "", form.cleaned_data["sub"])
        crumbs = [{"issuer": i, "sub": s, "link": trace_link(i, s, span, chain[:n])}
                  for n, (i, s) in enumerate(chain)]
        context.update(traced=True, result=result, venues=by_venue(result),
                       people=people_of(result, span, chain, here), crumbs=crumbs, here=here,
                       query=request.GET.urlencode(),
                       timeline=[{**v, "local": _local(v["scanned_at"])} for v in result["visits"]])
    return render(request, "console/trace.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """One row per visit and per contact, in the order of console.md's output; times in the
    collector's local time with its offset (as the records export)."""
    subject = result["subject"]
    rows: list[list[Any]] = []
    for v in result["visits"]:
        rows.append(["visit", v["venue_id"], local_time(v["scanned_at"]).isoformat(),
                     subject["issuer"] or "", subject["sub"], v["record_id"], v["device_id"],
                     v["decision"], "", "", "", ""])
    for c in result["contacts"]:
        rows.append(["contact", c["venue_id"], local_time(c["scanned_at"]).isoformat(),
                     c["issuer"], c["sub"], c["record_id"], c.get("device_id", ""),
                     c.get("decision", ""), c.get("code_status", ""), c["visit_record_id"],
                     c["minutes_apart"], c.get("seconds_apart", "")])
    return rows


@require_role("tracer")
@require_GET
def trace_csv(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.GET)
    if not form.is_valid():
        return form_refused(request, form)
    result, asked = _run(form)
    rows = csv_rows(result)
    audit(request, "trace.export", asked, count=len(rows))
    response = StreamingHttpResponse(search.csv_lines(CSV_COLUMNS, rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trace-{_safe_name(form.cleaned_data["sub"])}.csv"'
    return response


def _safe_name(sub: str) -> str:
    return "".join(ch for ch in sub if ch.isascii() and ch.isalnum())[:32] or "subject"
