"""Record search (tracer role): the query of the records page and its CSV export, one place."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from gate.collector.console.forms import RECORD_SORTS
from gate.collector.models import Record

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000  # one export file at most; narrow the search for more

RECORD_COLUMNS: tuple[str, ...] = (
    "record_id", "device_id", "venue_id", "venue_type", "scanned_at", "decision", "reasons",
    "issuer", "sub", "code_status", "temperature_c", "received_at")


def records(criteria: dict[str, Any]) -> QuerySet[Record]:
    """The records matching a cleaned `RecordSearchForm` (always bounded by time), newest first
    or in the order of its `sort` (a column of `RECORD_SORTS`, ``-`` before it for descending)."""
    query = Record.objects.filter(scanned_at__gte=criteria["start"], scanned_at__lte=criteria["end"])
    if criteria.get("venue"):
        query = query.filter(venue_id=criteria["venue"])
    if criteria.get("gate"):
        query = query.filter(device_id=criteria["gate"])
    if criteria.get("decision"):
        query = query.filter(decision=criteria["decision"])
    if criteria.get("reason"):
        query = query.filter(reasons__contains=f" {criteria['reason']} ")
    if criteria.get("issuer"):
        query = query.filter(issuer=criteria["issuer"])
    if criteria.get("sub"):
        query = query.filter(sub=criteria["sub"])
    if criteria.get("format") == "JKM1":  # a JKM1 record names no format (gate.record)
        query = query.exclude(record__code__has_key="format")
    elif criteria.get("format"):
        query = query.filter(record__code__format=criteria["format"])
    return query.order_by(*ordering(criteria.get("sort") or "-scanned_at"))


def ordering(sort: str) -> tuple[str, ...]:
    """The ORM ordering of a `?sort=` value (its first column reversed for ``-column``)."""
    descending = sort.startswith("-")
    columns = RECORD_SORTS[sort.lstrip("-")]
    if not descending:
        return columns
    first = columns[0]
    flipped = first[1:] if first.startswith("-") else "-" + first
    rest = tuple(c[1:] if c.startswith("-") else "-" + c for c in columns[1:]) \
        if sort.lstrip("-") == "scanned_at" else columns[1:]
    return (flipped, *rest)


def described(criteria: dict[str, Any]) -> dict[str, Any]:
    """The criteria as the audit log keeps them (times in ISO 8601, empty ones left out)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in criteria.items() if v not in ("", None) and k != "sort"}


def record_row(record: Record) -> list[Any]:
    return [record.id, record.device_id, record.venue_id, record.venue_type,
            timezone.localtime(record.scanned_at).isoformat(), record.decision,
            " ".join(record.reason_list), record.issuer, record.sub, record.code_status,
            "" if record.temperature_c is None else record.temperature_c,
            timezone.localtime(record.received_at).isoformat()]


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text line by line (UTF-8 with a BOM first, so spreadsheet programs read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for row in itertools.chain([header], rows):
        writer.writerow([_safe(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _safe(cell: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (CSV injection): text starting with
    = + - @ gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell
