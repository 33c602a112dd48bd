"""Contact tracing across cities: console.md's trace with ``site_id`` on every visit and contact.

The same definitions as `gate.collector.tracing` (visits in [start, end], any decision; a contact
is another subject's record within the window of a visit, listed once with its nearest visit),
with one difference the province needs: a venue is ``(site_id, venue_id)``, since two cities may
use the same venue id for different places. Used by ``gate collector trace`` (on any database
whose records carry ``site_id``: a named city or the province) and the province's tracing page.

Two queries, both bounded by time so month partitions prune: the subject's visits by the index
(issuer, sub, scanned_at), then the contacts by (venue_id, scanned_at) over the merged windows
of each (site, venue), as one OR of ranges.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connections

from gate.collector.tracing import DEFAULT_WINDOW_MIN, _merged, _nearest, asked, iso

Venue = tuple[str, str]


def trace_sites(alias: str, sub: str, issuer: str | None = None, start: datetime | None = None,
                end: datetime | None = None, window_min: float = DEFAULT_WINDOW_MIN,
                explain: bool = False) -> dict[str, Any]:
    """The subject's visits and contacts in every city, as console.md's JSON plus ``site_id``.

    `explain`: also answer ``"plans"``, PostgreSQL's EXPLAIN (ANALYZE) of both queries.
    """
    sub, start, end = asked(sub, start, end, window_min)
    subject_sql = "sub = %s" + (" AND issuer = %s" if issuer else "")
    subject_args: list[Any] = [sub] + ([issuer] if issuer else [])
    visits_sql = ("SELECT site_id, id, device_id, venue_id, scanned_at, decision"
                  f" FROM collector_record WHERE {subject_sql}"
                  " AND scanned_at >= %s AND scanned_at <= %s ORDER BY scanned_at, site_id, id")
    visits_args = [*subject_args, start, end]
    plans: dict[str, str] = {}
    with connections[alias].cursor() as cur:
        if explain:
            plans["visits"] = _explain(cur, visits_sql, visits_args)
        cur.execute(visits_sql, visits_args)
        visits = cur.fetchall()
        window = timedelta(minutes=window_min)
        by_venue: dict[Venue, list[tuple[datetime, str]]] = {}
        for site_id, record_id, _device, venue_id, scanned_at, _decision in visits:
            by_venue.setdefault((site_id, venue_id), []).append((scanned_at, record_id))
        candidates: list[tuple[Any, ...]] = []
        if by_venue:
            ranges, args = [], []
            for (site_id, venue_id), moments in by_venue.items():
                for low, high in _merged([(t - window, t + window) for t, _ in moments]):
                    ranges.append("(site_id = %s AND venue_id = %s AND scanned_at >= %s"
                                  " AND scanned_at <= %s)")
                    args += [site_id, venue_id, low, high]
            overall_low = min(t for m in by_venue.values() for t, _ in m) - window
            overall_high = max(t for m in by_venue.values() for t, _ in m) + window
            contacts_sql = ("SELECT site_id, id, issuer, sub, venue_id, scanned_at"
                            " FROM collector_record WHERE scanned_at >= %s AND scanned_at <= %s"
                            f" AND ({' OR '.join(ranges)}) AND NOT ({subject_sql}) AND sub <> ''")
            contacts_args = [overall_low, overall_high, *args, *subject_args]
            if explain:
                plans["contacts"] = _explain(cur, contacts_sql, contacts_args)
            cur.execute(contacts_sql, contacts_args)
            candidates = cur.fetchall()
    contacts = []
    for site_id, record_id, c_issuer, c_sub, venue_id, scanned_at in candidates:
        nearest = _nearest(by_venue[(site_id, venue_id)], scanned_at)
        if nearest is None:
            continue
        apart = abs((scanned_at - nearest[0]).total_seconds())
        if apart > window.total_seconds():
            continue
        contacts.append({
            "site_id": site_id, "issuer": c_issuer, "sub": c_sub, "record_id": record_id,
            "venue_id": venue_id, "scanned_at": iso(scanned_at), "visit_record_id": nearest[1],
            "minutes_apart": round(apart / 60.0, 3), "_t": scanned_at,
        })
    contacts.sort(key=lambda c: (c["_t"], c["record_id"]))
    for contact in contacts:
        del contact["_t"]
    result: dict[str, Any] = {
        "subject": {"issuer": issuer, "sub": sub},
        "visits": [{"site_id": v[0], "record_id": v[1], "device_id": v[2], "venue_id": v[3],
                    "scanned_at": iso(v[4]), "decision": v[5]} for v in visits],
        "contacts": contacts,
    }
    if explain:
        result["plans"] = plans
    return result


def _explain(cur: Any, statement: str, args: list[Any]) -> str:
    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, args)
    return "\n".join(r[0] for r in cur.fetchall())


def grouped(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The contacts grouped by city and venue (the tracing page's table), cities in order."""
    groups: dict[Venue, list[dict[str, Any]]] = {}
    for contact in result["contacts"]:
        groups.setdefault((contact["site_id"], contact["venue_id"]), []).append(contact)
    return [{"site_id": site, "venue_id": venue, "contacts": items}
            for (site, venue), items in sorted(groups.items())]
