"""Record search (tracer): paginated, and its CSV export; both audited with their counts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gate.collector.audit import audit
from gate.collector.console import search
from gate.collector.console.forms import RecordSearchForm
from gate.collector.roles import require_role
from gate.collector.console.views import form_refused


@require_role("tracer")
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    form = RecordSearchForm(request.GET or None)
    context = {"form": form, "section": "records", "searched": False}
    if request.GET and form.is_valid():
        try:
            page = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            page = 1
        offset = (page - 1) * search.PAGE_SIZE
        # one row past the page says whether there is a next one, without counting the table
        found = list(search.records(form.cleaned_data)[offset:offset + search.PAGE_SIZE + 1])
        rows = found[:search.PAGE_SIZE]
        audit(request, "records.search", {**search.described(form.cleaned_data), "page": page},
              count=len(rows))
        query = request.GET.copy()
        query.pop("page", None)
        context.update(searched=True, rows=rows, page=page, has_next=len(found) > search.PAGE_SIZE,
                       query=query.urlencode())
    return render(request, "console/records.html", context,
                  status=400 if request.GET and not form.is_valid() else 200)


@require_role("tracer")
@require_GET
def records_csv(request: HttpRequest) -> HttpResponse:
    form = RecordSearchForm(request.GET)
    if not form.is_valid():
        return form_refused(form)
    query = search.records(form.cleaned_data)[:search.EXPORT_LIMIT]
    count = query.count()
    audit(request, "records.export", search.described(form.cleaned_data), count=count)
    lines = search.csv_lines(search.RECORD_COLUMNS,
                             (search.record_row(r) for r in query.iterator(chunk_size=2000)))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="records-{stamp}.csv"'
    return response
