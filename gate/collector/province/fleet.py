"""The fleet of fleets: each city's gates (online, silent, disabled), queues, list versions and
replication lag; and one city's gates, a page at a time.

One grouped query over devices and their latest heartbeats answers every city's counts (10,000
gates in well under the page's 300 ms budget); the lag is `gate.collector.province.cities`'s. A
gate is online with a heartbeat (city time of arrival) within `ONLINE_WITHIN`, as on a city's
fleet page. A city whose lag is past 10 minutes, or whose slot was lost, is marked like a
silent gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from gate.collector.province.cities import CityState

ONLINE_WITHIN = timedelta(minutes=10)
PAGE_SIZE = 100

_NUMBER = "CASE WHEN jsonb_typeof(h.data->'{0}') = 'number' THEN (h.data->>'{0}')::numeric END"

_CITY_COUNTS = f"""
SELECT d.site_id, count(*), count(*) FILTER (WHERE NOT d.enabled),
    count(*) FILTER (WHERE d.enabled AND h.received_at >= %s),
    coalesce(sum({_NUMBER.format('queue_depth')}), 0), max({_NUMBER.format('queue_depth')}),
    min({_NUMBER.format('trust_list_version')}), max({_NUMBER.format('trust_list_version')}),
    min({_NUMBER.format('status_list_version')}), max({_NUMBER.format('status_list_version')})
FROM collector_device d LEFT JOIN collector_heartbeat h
    ON h.site_id = d.site_id AND h.device_id = d.device_id
WHERE d.site_id <> 'province'
GROUP BY d.site_id
"""


@dataclass
class CityRow:
    """One city on the fleet of fleets."""

    site_id: str
    gates: int = 0
    disabled: int = 0
    online: int = 0
    queue_total: int = 0
    queue_max: int | None = None
    trust_versions: tuple[int | None, int | None] = (None, None)
    status_versions: tuple[int | None, int | None] = (None, None)
    open_alerts: int = 0
    replication: CityState | None = None

    @property
    def silent(self) -> int:
        return self.gates - self.disabled - self.online

    @property
    def behind(self) -> bool:
        return self.replication is not None and self.replication.behind


@dataclass
class CityGate:
    """One gate of a city, as the city's page at the province shows it."""

    device_id: str
    enabled: bool
    online: bool
    heartbeat_at: datetime | None
    venue_id: str = ""
    queue_depth: int | None = None
    trust_list_version: int | None = None
    status_list_version: int | None = None
    software_version: str = ""
    faults: list[str] = field(default_factory=list)


def _whole(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def city_rows(alias: str, states: list[CityState], now: datetime | None = None) -> list[CityRow]:
    """Every city (subscribed, or with gates at the province), behind ones first."""
    now = now or timezone.now()
    rows: dict[str, CityRow] = {s.site_id: CityRow(s.site_id, replication=s) for s in states}
    with connections[alias].cursor() as cur:
        cur.execute(_CITY_COUNTS, [now - ONLINE_WITHIN])
        for (site_id, gates, disabled, online, queue_total, queue_max, trust_min, trust_max,
             status_min, status_max) in cur.fetchall():
            row = rows.setdefault(site_id, CityRow(site_id))
            row.gates, row.disabled, row.online = gates, disabled, online
            row.queue_total, row.queue_max = int(queue_total), _int(queue_max)
            row.trust_versions = (_int(trust_min), _int(trust_max))
            row.status_versions = (_int(status_min), _int(status_max))
        cur.execute("SELECT site_id, count(*) FROM collector_alert WHERE acknowledged_at IS NULL"
                    " GROUP BY site_id")
        for site_id, count in cur.fetchall():
            if site_id in rows:
                rows[site_id].open_alerts = count
    return sorted(rows.values(), key=lambda r: (not r.behind, r.site_id))


def city_gates(alias: str, site_id: str, page: int = 1,
               now: datetime | None = None) -> tuple[list[CityGate], int]:
    """One page of a city's gates (silent first, then by id) and how many gates it has."""
    now = now or timezone.now()
    since = now - ONLINE_WITHIN
    with connections[alias].cursor() as cur:
        cur.execute("SELECT count(*) FROM collector_device WHERE site_id = %s", [site_id])
        total = cur.fetchone()[0]
        cur.execute(
            "SELECT d.device_id, d.enabled, h.received_at, h.data FROM collector_device d"
            " LEFT JOIN collector_heartbeat h ON h.site_id = d.site_id AND h.device_id = d.device_id"
            " WHERE d.site_id = %s"
            " ORDER BY (d.enabled AND h.received_at >= %s), d.device_id LIMIT %s OFFSET %s",
            [site_id, since, PAGE_SIZE, (max(page, 1) - 1) * PAGE_SIZE])
        gates = []
        for device_id, enabled, at, data in cur.fetchall():
            data = data if isinstance(data, dict) else {}
            faults = data.get("faults") if isinstance(data.get("faults"), list) else []
            gates.append(CityGate(
                device_id, enabled, at is not None and at >= since and enabled, at,
                str(data.get("venue_id") or ""), _whole(data, "queue_depth"),
                _whole(data, "trust_list_version"), _whole(data, "status_list_version"),
                str(data.get("software_version") or ""), [str(f) for f in faults]))
    return gates, total
