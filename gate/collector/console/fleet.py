"""The fleet page's rows: registered gates with their latest heartbeat, as an operator reads it,
filtered, sorted and in pages of `PAGE_SIZE` by the database (a city has thousands of gates).

A gate is online when its latest heartbeat arrived within `ONLINE_WITHIN` (console.md: 10
minutes). Its trust and status list versions are compared with what this collector serves
(`served_versions`): a gate below is "behind" (a gate claiming a version above it marks nobody).
The default order: gates that went silent first (never heard from, then the longest silent),
then gates with faults, then the rest by id. Each row also counts the gate's scans and alerts of
the last 24 hours. Every query of the fleet lives here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gate.collector import runtime
from gate.collector.models import Device, Record
from gate.faults import FAULTS

ONLINE_WITHIN = timedelta(minutes=10)
COUNT_WINDOW = timedelta(hours=24)
PAGE_SIZE = 50
STATES: tuple[str, ...] = ("all", "offline", "online", "faults", "backlog", "behind", "disabled")
SORTS: tuple[str, ...] = ("state", "id", "heartbeat", "venue", "queue")


@dataclass
class FaultText:
    """One fault of a gate in both languages (gate.faults), or the bare code if unknown."""

    code: str
    zh: str
    en: str


@dataclass
class GateRow:
    """One gate as the fleet page shows it."""

    device_id: str
    enabled: bool
    online: bool
    heartbeat_at: datetime | None
    venue_id: str = ""
    venue_type: str = ""
    queue_depth: int | None = None
    oldest_pending_at: datetime | None = None
    trust_list_version: int | None = None
    status_list_version: int | None = None
    bulletin_version: int | None = None  # the bulletin its latest heartbeat reports (0: none)
    trust_behind: bool = False
    status_behind: bool = False
    faults: list[FaultText] = field(default_factory=list)
    software_version: str = ""
    last_scan_at: datetime | None = None
    clock_trusted: bool | None = None
    scans_24h: int = 0
    alerts_24h: int = 0

    @property
    def states(self) -> set[str]:
        """The filters this gate matches."""
        found = {"all", "online" if self.online else "offline"}
        if self.faults:
            found.add("faults")
        if self.queue_depth:
            found.add("backlog")
        if self.trust_behind or self.status_behind:
            found.add("behind")
        if not self.enabled:
            found.add("disabled")
        return found


@dataclass
class FleetPage:
    """One page of the fleet: its rows, the counts of every state, and where it is."""

    rows: list[GateRow]
    counts: dict[str, int]
    number: int
    pages: int
    total: int  # gates matching the state and the search
    newest_trust: int | None
    newest_status: int | None


def served_versions() -> tuple[int | None, int | None]:
    """The trust list and newest status list versions this collector serves (None: none): what an
    up-to-date gate holds, never what gates report (one claiming 999999 marks nobody behind)."""
    lists = runtime.current().lists
    return lists.trust_version(), lists.status_version()


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fault_text(code: str) -> FaultText:
    """The fault's lines from the one vocabulary; an unknown code is shown as it came."""
    known = FAULTS.get(code)
    return FaultText(code, known.zh, known.en) if known else FaultText(code, code, code)


def _conditions(now: datetime, trust: int | None, status: int | None) -> dict[str, Q]:
    """Each state as a condition on Device (its heartbeat joined)."""
    online = Q(heartbeat__received_at__gte=now - ONLINE_WITHIN)
    behind = Q(pk__in=[])
    if trust is not None:
        behind |= Q(heartbeat__data__trust_list_version__lt=trust)
    if status is not None:
        behind |= Q(heartbeat__data__status_list_version__lt=status)
    return {"all": Q(), "online": online, "offline": ~online,
            "faults": Q(heartbeat__data__faults__0__isnull=False),
            "backlog": Q(heartbeat__data__queue_depth__gt=0),
            "behind": behind, "disabled": Q(enabled=False)}


def _ordered(query: QuerySet[Device], sort: str, online: Q) -> QuerySet[Device]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name == "id":
        return query.order_by("-device_id" if descending else "device_id")
    if name == "heartbeat":
        at = F("heartbeat__received_at")
        return query.order_by(at.desc(nulls_last=True) if descending else at.asc(nulls_first=True),
                              "device_id")
    if name == "venue":
        venue = Lower("heartbeat__data__venue_id")
        return query.order_by(venue.desc(nulls_last=True) if descending
                              else venue.asc(nulls_last=True), "device_id")
    if name == "queue":
        queue = F("heartbeat__data__queue_depth")
        return query.order_by(queue.desc(nulls_last=True) if descending
                              else queue.asc(nulls_last=True), "device_id")
    # "state": silent first (never heard from, then the longest silent), then faults, then by id
    annotated = query.annotate(
        _on=Case(When(online, then=Value(1)), default=Value(0), output_field=IntegerField()),
        _silent_since=Case(When(online, then=Value(None)), default=F("heartbeat__received_at")),
        _faulty=Case(When(heartbeat__data__faults__0__isnull=False, then=Value(1)),
                     default=Value(0), output_field=IntegerField()),
    )
    if descending:
        return annotated.order_by("-_on", F("_silent_since").desc(nulls_last=True), "_faulty",
                                  "-device_id")
    return annotated.order_by("_on", F("_silent_since").asc(nulls_first=True), "-_faulty",
                              "device_id")


def fleet_page(state: str = "all", sort: str = "state", search: str = "", page: int = 1,
               now: datetime | None = None, size: int = PAGE_SIZE) -> FleetPage:
    """Page `page` of the gates in `state` whose id or venue contains `search`, sorted by `sort`
    (one of `SORTS`, ``-`` before it for descending); a page past the last is the last page."""
    now = now or timezone.now()
    trust, status = served_versions()
    conditions = _conditions(now, trust, status)
    found = Device.objects.all()
    if search:
        found = found.filter(Q(device_id__icontains=search)
                             | Q(heartbeat__data__venue_id__icontains=search))
    counts = found.aggregate(**{s: Count("pk", filter=conditions[s]) for s in STATES})
    total = counts[state]
    pages = max(1, -(-total // size))
    number = min(max(1, page), pages)
    query = _ordered(found.filter(conditions[state]), sort, conditions["online"])
    devices = list(query.select_related("heartbeat")[(number - 1) * size:number * size])
    rows = [_row(d, now, trust, status) for d in devices]
    _count_scans(rows, now)
    return FleetPage(rows, counts, number, pages, total, trust, status)


def gate_rows(now: datetime | None = None) -> list[GateRow]:
    """Every registered gate in the fleet's default order (for small fleets and tests)."""
    first = fleet_page(now=now, size=10**9)
    return first.rows


def _row(device: Device, now: datetime, trust: int | None, status: int | None) -> GateRow:
    beat = getattr(device, "heartbeat", None) if _has_heartbeat(device) else None
    data: dict[str, Any] = beat.data if beat is not None and isinstance(beat.data, dict) else {}
    at = beat.received_at if beat is not None else None
    faults = data.get("faults") if isinstance(data.get("faults"), list) else []
    row = GateRow(
        device_id=device.device_id, enabled=device.enabled,
        online=at is not None and now - at <= ONLINE_WITHIN, heartbeat_at=at,
        venue_id=str(data.get("venue_id") or ""), venue_type=str(data.get("venue_type") or ""),
        queue_depth=_int(data.get("queue_depth")),
        oldest_pending_at=_time(data.get("oldest_pending_at")),
        trust_list_version=_int(data.get("trust_list_version")),
        status_list_version=_int(data.get("status_list_version")),
        bulletin_version=_int(data.get("bulletin_version")),
        faults=[fault_text(str(code)) for code in faults],
        software_version=str(data.get("software_version") or ""),
        last_scan_at=_time(data.get("last_scan_at")),
        clock_trusted=data.get("clock_trusted") if isinstance(data.get("clock_trusted"), bool)
        else None)
    row.trust_behind = (row.trust_list_version is not None and trust is not None
                        and row.trust_list_version < trust)
    row.status_behind = (row.status_list_version is not None and status is not None
                         and row.status_list_version < status)
    return row


def _count_scans(rows: list[GateRow], now: datetime) -> None:
    """Each row's records and alert records scanned within `COUNT_WINDOW` of `now` (bounded by
    time, so partitions prune; only the page's gates)."""
    if not rows:
        return
    found = (Record.objects.filter(scanned_at__gte=now - COUNT_WINDOW, scanned_at__lte=now + COUNT_WINDOW,
                                   device_id__in=[r.device_id for r in rows])
             .values("device_id").annotate(n=Count("id"), alerts=Count("id", filter=Q(is_alert=True))))
    counted = {r["device_id"]: (r["n"], r["alerts"]) for r in found}
    for row in rows:
        row.scans_24h, row.alerts_24h = counted.get(row.device_id, (0, 0))


def _has_heartbeat(device: Device) -> bool:
    try:
        device.heartbeat  # noqa: B018 (a reverse one-to-one raises when there is none)
    except Device.heartbeat.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return False
    return True
