"""What the duty officer is paged for: the alerts (venue-rules.md, Alerts) and, when the officer
chose so, yellow codes and itinerary marks that arrived in ordinary batches.

An `Alert` row exists for every record that is an alert (`gate.collector.ingest`: a hold, a
refer or a red code, whether it came on ``/v1/alerts`` or only in a batch). A paged batch record
has none until it is acknowledged; acknowledging it creates one (received when the record was),
so who and when are kept the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gate.collector.console.models import Paging
from gate.collector.django_db import current_alias
from gate.collector.models import Alert, Record
from gate.errors import GateError
from gate.vocabulary import ITINERARY_MARK_REASON, PAGED_ON_REQUEST_STATUSES

# batch records are paged for this long after they arrive (bounded: records are partitioned by
# the month of scanned_at, so the query also bounds scanned_at)
PAGE_BATCH_FOR = timedelta(days=2)
LIMIT = 200


@dataclass
class Page:
    """One item on the alerts page."""

    record: Record
    received_at: datetime
    paged: bool                      # a batch record paged by choice, not an alert
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    note: str = ""

    @property
    def record_id(self) -> str:
        return self.record.id

    def to_json(self) -> dict[str, Any]:
        """The alert for the page's polling, its decision and reasons in words of the request's
        language (gate.collector.console.words)."""
        from gate.collector.console.words import decision_text, deciding_text, reason_meaning

        r = self.record
        return {
            "decision_text": decision_text(r.decision),
            "said": deciding_text(r.decision, r.reason_list, r.venue_type),
            "reason_meanings": {code: reason_meaning(code) for code in r.reason_list},
            "record_id": r.id, "device_id": r.device_id, "venue_id": r.venue_id,
            "venue_type": r.venue_type, "scanned_at": timezone.localtime(r.scanned_at).isoformat(),
            "received_at": timezone.localtime(self.received_at).isoformat(),
            "decision": r.decision, "reasons": r.reason_list, "code_status": r.code_status,
            "temperature_c": r.temperature_c, "paged": self.paged,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": (timezone.localtime(self.acknowledged_at).isoformat()
                                if self.acknowledged_at else None),
            "note": self.note,
        }


def pages_yellow(user: Any) -> bool:
    """True when `user` chose to be paged also for yellow codes and itinerary marks."""
    return Paging.objects.filter(user=user, yellow_and_itinerary=True).exists()


def set_pages_yellow(user: Any, on: bool) -> None:
    """Record the officer's choice."""
    Paging.objects.update_or_create(user=user, defaults={"yellow_and_itinerary": on})


def batch_marks(now: datetime | None = None) -> Q:
    """Records that are no alert but carry a yellow code or an itinerary mark, recently received.

    The rule is the vocabulary's (`gate.vocabulary.paged_on_request`), read from its tables:
    a status of `PAGED_ON_REQUEST_STATUSES`, the code's ``itinerary_risk``, or the reason
    `ITINERARY_MARK_REASON` (``reasons`` is stored space-delimited, spaces at both ends).
    """
    now = now or timezone.now()
    since = now - PAGE_BATCH_FOR
    marked = Q(code_status__in=PAGED_ON_REQUEST_STATUSES) \
        | Q(reasons__contains=f" {ITINERARY_MARK_REASON} ") | Q(record__code__itinerary_risk=True)
    return Q(is_alert=False, received_at__gte=since, scanned_at__gte=since - timedelta(days=30)) \
        & marked


def feed(user: Any, open_only: bool = False, limit: int = LIMIT) -> list[Page]:
    """The newest alerts (and paged batch records, if chosen), newest first."""
    alerts = Alert.objects.select_related("acknowledged_by").order_by("-received_at")
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    alerts = list(alerts[:limit])
    records = {r.id: r for r in Record.objects.filter(id__in=[a.pk for a in alerts])}
    items = [Page(records[a.pk], a.received_at, paged=not records[a.pk].is_alert,
                  acknowledged_by=a.acknowledged_by.get_username() if a.acknowledged_by else "",
                  acknowledged_at=a.acknowledged_at, note=a.ack_note)
             for a in alerts if a.pk in records]
    if pages_yellow(user):
        have = {a.pk for a in alerts}
        acknowledged = set(Alert.objects.filter(
            pk__in=Record.objects.filter(batch_marks()).values("id")).values_list("pk", flat=True))
        for record in Record.objects.filter(batch_marks()).order_by("-received_at")[:limit]:
            if record.id in have or record.id in acknowledged:
                continue
            items.append(Page(record, record.received_at, paged=True))
        items.sort(key=lambda p: (p.received_at, p.record_id), reverse=True)
    return items[:limit]


class NotPageable(GateError, LookupError):
    """The record is neither an alert nor a batch record this officer is paged for."""


class AlreadyAcknowledged(GateError, ValueError):
    """Someone acknowledged it first; their name, time and note stay."""

    def __init__(self, alert: Alert) -> None:
        super().__init__(alert.pk)
        self.alert = alert


def acknowledge(user: Any, record_id: str, note: str) -> Alert:
    """Acknowledge the alert of `record_id` (or the paged batch record) as `user`, with `note`.
    The first acknowledgement stands: a second raises `AlreadyAcknowledged`."""
    with transaction.atomic(using=current_alias()):  # the collector's own database
        alert = Alert.objects.select_for_update().filter(pk=record_id).first()
        if alert is None:
            record = Record.objects.filter(batch_marks()).filter(id=record_id).first()
            if record is None or not pages_yellow(user):
                raise NotPageable(record_id)
            alert, _ = Alert.objects.get_or_create(record_id=record.id,
                                                   defaults={"received_at": record.received_at})
        if alert.acknowledged_at is not None:
            raise AlreadyAcknowledged(alert)
        alert.acknowledge(user, note)
    return alert
