"""The fleet page's rows: every registered gate with its latest heartbeat, as an operator reads it.

Each row also counts the gate's scans and alerts of the last 24 hours. A gate is online when its latest heartbeat arrived within `ONLINE_WITHIN` (console.md: 10
minutes). Trust and status list versions are compared with the newest this collector serves
(its lists folder, `newest_versions`), never with what gates report (one gate claiming version
999999 would mark every honest gate behind): a gate behind it is marked. Gates that went silent come first (the longest silent
first), then gates with faults, then the rest by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gate.collector import runtime
from gate.collector.lists import ListsDirectory
from gate.collector.models import Device, Record
from gate.faults import FAULTS

ONLINE_WITHIN = timedelta(minutes=10)
COUNT_WINDOW = timedelta(hours=24)
STATES: tuple[str, ...] = ("all", "offline", "online", "faults", "backlog", "behind", "disabled")


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


def gate_rows(now: datetime | None = None,
              newest: tuple[int | None, int | None] | None = None) -> list[GateRow]:
    """Every registered gate, silent ones first (see the module's docstring).

    `newest`: the (trust, status) versions a gate is behind of; default `newest_versions()`.
    """
    now = now or timezone.now()
    newest_trust, newest_status = newest if newest is not None else newest_versions()
    counts = scan_counts(now - COUNT_WINDOW, now + COUNT_WINDOW)
    rows: list[GateRow] = []
    for device in Device.objects.select_related("heartbeat").order_by("device_id"):
        beat = getattr(device, "heartbeat", None) if _has_heartbeat(device) else None
        data: dict[str, Any] = beat.data if beat is not None and isinstance(beat.data, dict) else {}
        at = beat.received_at if beat is not None else None
        faults = data.get("faults") if isinstance(data.get("faults"), list) else []
        rows.append(GateRow(
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
            else None,
            scans_24h=counts.get(device.device_id, (0, 0))[0],
            alerts_24h=counts.get(device.device_id, (0, 0))[1],
        ))
    for row in rows:
        row.trust_behind = (row.trust_list_version is not None and newest_trust is not None
                            and row.trust_list_version < newest_trust)
        row.status_behind = (row.status_list_version is not None and newest_status is not None
                             and row.status_list_version < newest_status)
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r.online, (r.heartbeat_at or epoch) if not r.online else epoch,
                             not r.faults, r.device_id))
    return rows


def scan_counts(start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per gate: (records, alert records) scanned in [start, end] (bounded: partitions prune)."""
    rows = (Record.objects.filter(scanned_at__gte=start, scanned_at__lte=end)
            .values("device_id").annotate(n=Count("id"), alerts=Count("id", filter=Q(is_alert=True))))
    return {r["device_id"]: (r["n"], r["alerts"]) for r in rows}


def _has_heartbeat(device: Device) -> bool:
    try:
        device.heartbeat  # noqa: B018 (a reverse one-to-one raises when there is none)
    except Device.heartbeat.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return False
    return True


def newest_versions(lists: ListsDirectory | None = None) -> tuple[int | None, int | None]:
    """The (trust, status) list versions this collector serves from its lists folder (None for
    a list it does not serve): the versions an up-to-date gate holds."""
    lists = lists or runtime.current().lists
    return lists.trust_version(), lists.status_version()
