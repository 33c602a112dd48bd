"""Every city's alerts at the province, with the city named and who acknowledged them there.

Acknowledging stays the city's; the province sees when, the note, and who: the city's user ids
mean nothing at the province (city users never travel), so the name comes from the city's own
audit entry of the acknowledgement (``alert.acknowledge``, which travels with the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connections

from gate.collector.province.replica import read_alias

LIMIT = 200


@dataclass
class ProvinceAlert:
    """One alert of one city."""

    site_id: str
    record_id: str
    received_at: datetime
    scanned_at: datetime | None
    venue_id: str
    device_id: str
    decision: str
    reasons: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str


def province_alerts(site_id: str | None = None, open_only: bool = False,
                    limit: int = LIMIT) -> list[ProvinceAlert]:
    """The newest alerts first (at most `limit`), of one city or all."""
    where, args = [], []
    if site_id:
        where.append("a.site_id = %s")
        args.append(site_id)
    if open_only:
        where.append("a.acknowledged_at IS NULL")
    sql = (
        "SELECT a.site_id, a.record_id, a.received_at, r.scanned_at, r.venue_id, r.device_id,"
        " r.decision, r.reasons, a.acknowledged_at, who.username, a.ack_note"
        " FROM collector_alert a"
        " LEFT JOIN LATERAL (SELECT scanned_at, venue_id, device_id, decision, reasons"
        "   FROM collector_record x WHERE x.site_id = a.site_id AND x.id = a.record_id"
        "   ORDER BY x.scanned_at DESC LIMIT 1) r ON true"
        " LEFT JOIN LATERAL (SELECT username FROM collector_audit u WHERE u.site_id = a.site_id"
        "   AND u.action = 'alert.acknowledge' AND u.what->>'record_id' = a.record_id"
        "   ORDER BY u.at LIMIT 1) who ON a.acknowledged_at IS NOT NULL"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.received_at DESC, a.site_id, a.record_id LIMIT %s")
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, [*args, limit])
        return [ProvinceAlert(*row[:10], row[10] or "") for row in cur.fetchall()]
