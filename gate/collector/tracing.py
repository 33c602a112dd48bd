"""Contact tracing (console.md): one subject's visits and the people near them in place and time.

For one subject (the code's ``iss`` and ``sub``; any issuer when none is given):

- **visits** are the subject's records with ``start <= scanned_at <= end``, any decision, sorted
  by (``scanned_at``, ``record_id``);
- a **contact** is a record of another subject (a different (issuer, sub); records with no
  subject, e.g. an unreadable code, are nobody's and not listed) at the same ``venue_id`` whose
  ``scanned_at`` is within ``window_min`` minutes of a visit, both ends included (exactly at the
  window counts, one second past does not). A contact is defined by its visit, so it may lie up
  to the window outside [start, end]. Each contact record is listed once, with its nearest
  visit (the earlier visit on a tie); contacts sorted by (``scanned_at``, ``record_id``).

`trace` answers with console.md's JSON object (with ``details=True``, as the console asks, each
contact also carries ``seconds_apart``, ``device_id``, and the ``decision`` and ``code_status`` of
its record; `people` groups the contacts by person); `gate collector trace --json` and the console's
tracing page both call it. Times in the output are UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``.
The queries use the indexes (issuer, sub, scanned_at) and (venue_id, scanned_at) and are bounded
by time, so PostgreSQL prunes month partitions.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta, timezone
from typing import Any

from django.db.models import Q

from gate.collector.models import Record
from gate.collector.records import canonical_time
from gate.vocabulary import gravity

DEFAULT_DAYS = 14
DEFAULT_WINDOW_MIN = 30.0


def iso(moment: datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``."""
    return canonical_time(moment)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (with offset or Z; UTC when it has none) or epoch seconds; ValueError."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 time or epoch seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def default_range(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last `DEFAULT_DAYS` days up to now."""
    end = now or datetime.now(timezone.utc)
    return end - timedelta(days=DEFAULT_DAYS), end


def asked(sub: str, start: datetime | None, end: datetime | None,
          window_min: float) -> tuple[str, datetime, datetime]:
    """A trace's question made whole: the subject as stored (lower-case hex) and the range, the
    default range where none is given; ValueError for a negative window."""
    if window_min < 0:
        raise ValueError("the window must be zero or more minutes")
    default_start, default_end = default_range()
    return sub.strip().lower(), start or default_start, end or default_end


def trace(sub: str, issuer: str | None = None, start: datetime | None = None,
          end: datetime | None = None, window_min: float = DEFAULT_WINDOW_MIN,
          details: bool = False) -> dict[str, Any]:
    """The visits and contacts of the subject (`issuer`, `sub`) as console.md's JSON object;
    `details` adds each contact's ``seconds_apart``, ``device_id``, ``decision`` and
    ``code_status``."""
    sub, start, end = asked(sub, start, end, window_min)
    subject = Q(sub=sub) & (Q(issuer=issuer) if issuer else Q())
    visits = list(
        Record.objects.filter(subject, scanned_at__gte=start, scanned_at__lte=end)
        .order_by("scanned_at", "id")
        .values("id", "device_id", "venue_id", "scanned_at", "decision")
    )
    window = timedelta(minutes=window_min)
    by_venue: dict[str, list[tuple[datetime, str]]] = {}
    for visit in visits:
        by_venue.setdefault(visit["venue_id"], []).append((visit["scanned_at"], visit["id"]))

    near = Q(pk__in=[])
    for venue, moments in by_venue.items():
        for low, high in _merged([(t - window, t + window) for t, _ in moments]):
            near |= Q(venue_id=venue, scanned_at__gte=low, scanned_at__lte=high)
    candidates = (
        Record.objects.filter(near).exclude(subject).exclude(sub="")
        .values("id", "issuer", "sub", "venue_id", "scanned_at", "device_id", "decision",
                "code_status")
    ) if by_venue else []

    contacts = []
    for row in candidates:
        nearest = _nearest(by_venue[row["venue_id"]], row["scanned_at"])
        if nearest is None:
            continue
        apart = abs((row["scanned_at"] - nearest[0]).total_seconds())
        if apart > window.total_seconds():
            continue
        contact = {
            "issuer": row["issuer"], "sub": row["sub"], "record_id": row["id"],
            "venue_id": row["venue_id"], "scanned_at": iso(row["scanned_at"]),
            "visit_record_id": nearest[1], "minutes_apart": round(apart / 60.0, 3),
            "_t": row["scanned_at"],
        }
        if details:
            contact.update(seconds_apart=round(apart, 3), device_id=row["device_id"],
                           decision=row["decision"], code_status=row["code_status"])
        contacts.append(contact)
    contacts.sort(key=lambda c: (c["_t"], c["record_id"]))
    for contact in contacts:
        del contact["_t"]
    return {
        "subject": {"issuer": issuer, "sub": sub},
        "visits": [{"record_id": v["id"], "device_id": v["device_id"], "venue_id": v["venue_id"],
                    "scanned_at": iso(v["scanned_at"]), "decision": v["decision"]}
                   for v in visits],
        "contacts": contacts,
    }


def people(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The contacts of a `trace` result as people: one entry per (issuer, sub) with their contact
    records (in time order), the nearest they came to a visit (``seconds_apart``), the most
    serious decision among their records (gate.vocabulary's order: an alert first) and their
    latest code status. People sorted by their first contact."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for contact in result["contacts"]:
        key = (contact["issuer"], contact["sub"])
        person = found.setdefault(key, {"issuer": contact["issuer"], "sub": contact["sub"],
                                        "records": [], "seconds_apart": None})
        person["records"].append(contact)
        apart = contact.get("seconds_apart", contact["minutes_apart"] * 60.0)
        if person["seconds_apart"] is None or apart < person["seconds_apart"]:
            person["seconds_apart"] = apart
    for person in found.values():
        decisions = [c.get("decision", "") for c in person["records"]]
        person["decision"] = max(decisions, key=gravity) if decisions else ""
        person["code_status"] = person["records"][-1].get("code_status", "")
        person["venues"] = sorted({c["venue_id"] for c in person["records"]})
    return list(found.values())


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for low, high in sorted(intervals):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _nearest(moments: list[tuple[datetime, str]], t: datetime) -> tuple[datetime, str] | None:
    """The visit nearest to `t` (the earlier on a tie); `moments` sorted by time."""
    times = [m[0] for m in moments]
    i = bisect.bisect_left(times, t)
    best = None
    for j in (i - 1, i):
        if 0 <= j < len(moments):
            gap = abs((moments[j][0] - t).total_seconds())
            if best is None or gap < best[0]:
                best = (gap, moments[j])
    # an equal gap at a later index never replaces the earlier visit (strict <)
    # but several visits may share one time: pick the first of them
    if best is not None:
        first = bisect.bisect_left(times, best[1][0])
        return moments[first]
    return None
