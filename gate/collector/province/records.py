"""Record search across cities for the province's records page: bounded by time (partitions
prune), filtered by city, venue, gate, subject, decision and reason, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections

LIMIT = 200


@dataclass
class FoundRecord:
    site_id: str
    record_id: str
    device_id: str
    venue_id: str
    scanned_at: datetime
    decision: str
    reasons: str
    issuer: str
    sub: str
    temperature_c: float | None


def asked(criteria: dict[str, Any]) -> dict[str, Any]:
    """The search as the audit log keeps it."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in criteria.items() if v not in (None, "")}


def search(alias: str, criteria: dict[str, Any], limit: int = LIMIT) -> list[FoundRecord]:
    """The newest `limit` records matching a cleaned `RecordSearchForm` plus ``site``."""
    where = ["scanned_at >= %s", "scanned_at <= %s"]
    args: list[Any] = [criteria["start"], criteria["end"]]
    for key, column in (("site", "site_id"), ("venue", "venue_id"), ("gate", "device_id"),
                        ("decision", "decision"), ("issuer", "issuer"), ("sub", "sub")):
        if criteria.get(key):
            where.append(f"{column} = %s")
            args.append(criteria[key])
    if criteria.get("reason"):
        where.append("reasons LIKE %s")
        args.append(f"% {criteria['reason']} %")
    sql = ("SELECT site_id, id, device_id, venue_id, scanned_at, decision, reasons, issuer, sub,"
           " temperature_c FROM collector_record WHERE " + " AND ".join(where)
           + " ORDER BY scanned_at DESC, site_id, id LIMIT %s")
    with connections[alias].cursor() as cur:
        cur.execute(sql, [*args, limit])
        return [FoundRecord(*row) for row in cur.fetchall()]
