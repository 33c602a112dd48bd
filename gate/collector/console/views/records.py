"""Record search (tracer): paginated and sortable, one record's detail, and the CSV export; every
search, detail view and export is audited with its count."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gate.collector.audit import audit
from gate.collector.console import search
from gate.collector.console.forms import RECORD_SORTS, RecordSearchForm
from gate.collector.console.pages import asked_page, window
from gate.collector.console.views.errors import form_refused
from gate.collector.models import Alert, Record
from gate.collector.roles import require_role

def sort_links(query: Any, current: str, columns: Any = RECORD_SORTS) -> dict[str, dict[str, str]]:
    """For each sortable column: the query string that sorts by it (the other way round when it
    is the current sort; times newest first on a first click) and the arrow to show."""
    links = {}
    descending = current.startswith("-")
    for column in columns:
        now_on = current.lstrip("-") == column
        if now_on:
            asked = column if descending else "-" + column
        else:
            asked = "-" + column if column in ("scanned_at", "heartbeat") else column
        q = query.copy()
        q.pop("page", None)
        q["sort"] = asked
        links[column] = {"query": q.urlencode(),
                         "arrow": ("↓" if descending else "↑") if now_on else ""}
    return links


@require_role("tracer")
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    form = RecordSearchForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "section": "records", "searched": False}
    if request.GET and form.is_valid():
        query = search.records(form.cleaned_data)
        page = window(lambda offset, limit: query[offset:offset + limit], query.count,
                      asked_page(request.GET.get("page")), search.PAGE_SIZE)
        audit(request, "records.search",
              {**search.described(form.cleaned_data), "page": page.number}, count=len(page.rows))
        rest = request.GET.copy()
        rest.pop("page", None)
        current = form.cleaned_data.get("sort") or "-scanned_at"
        context.update(searched=True, rows=page.rows, page=page.number, has_next=page.has_next,
                       query=rest.urlencode(), sorts=sort_links(request.GET, current),
                       sort=current)
    return render(request, "console/records.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)


@require_role("tracer")
@require_GET
def record_detail(request: HttpRequest, record_id: str) -> HttpResponse:
    """One record as the gate sent it, in words, with its alert's handling; audited."""
    if len(record_id) > 36:
        raise Http404(record_id)
    record = Record.objects.filter(pk=record_id).first()
    if record is None:
        raise Http404(record_id)
    alert = Alert.objects.select_related("acknowledged_by").filter(pk=record_id).first()
    audit(request, "record.view", {"record_id": record.id}, count=1)
    raw = record.record if isinstance(record.record, dict) else {}
    code = raw.get("code") if isinstance(raw.get("code"), dict) else {}
    return render(request, "console/record.html", {
        "r": record, "alert": alert, "code": code, "section": "records",
        "itinerary_risk": code.get("itinerary_risk") is True,
        "clock_trusted": raw.get("clock_trusted") if isinstance(raw.get("clock_trusted"), bool)
        else None,
        "override": raw.get("override") if isinstance(raw.get("override"), dict) else None})


@require_role("tracer")
@require_GET
def records_csv(request: HttpRequest) -> HttpResponse:
    form = RecordSearchForm(request.GET)
    if not form.is_valid():
        return form_refused(request, form)
    query = search.records(form.cleaned_data)[:search.EXPORT_LIMIT]
    count = query.count()
    audit(request, "records.export", search.described(form.cleaned_data), count=count)
    lines = search.csv_lines(search.RECORD_COLUMNS,
                             (search.record_row(r) for r in query.iterator(chunk_size=2000)))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="records-{stamp}.csv"'
    return response
