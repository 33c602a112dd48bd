"""The collector's tables, one schema for SQLite and PostgreSQL.

What the console (and anything else) can rely on:

- `Device`: ``device_id`` (primary key), ``public_key`` (base64 SPKI DER, unique), ``enabled``,
  ``added_at``. Its latest heartbeat is ``device.heartbeat`` (`Heartbeat`, may be missing):
  ``received_at`` (collector time, aware datetime), ``signed_at`` and ``data`` (the heartbeat body of
  upload.md as sent). `gate.collector.devices.device_summary` gives the ``devices --json`` object
  (with ``online``).
- `Record`: one scan, stored once. Columns for search: ``device_id``, ``venue_id``,
  ``venue_type``, ``scanned_at`` (aware datetime, UTC), ``received_at``, ``decision``,
  ``reasons`` (the decision reasons as text " a b c ": filter with
  ``reasons__contains=" reason "``), ``issuer``, ``sub`` (the code's ``iss``/``sub``, "" when
  the code had none), ``code_status``, ``temperature_c``, ``is_alert`` (its decision/status
  makes it one, or it came through /v1/alerts), ``record`` (the JSON as received). Indexes:
  (issuer, sub, scanned_at), (venue_id, scanned_at), (scanned_at) and the key (each index
  costs ingest speed: search other columns, e.g. a gate, within a time range). On PostgreSQL the table is partitioned by month of
  ``scanned_at``: always bound searches by time so they prune. Rows are written by
  `gate.collector.ingest` (raw SQL); never write records through the ORM.
- `Alert`: one per record that is an alert, made when the collector first holds it as one
  (whichever request brought it), or when a record paged by choice is acknowledged (no database
  constraint on ``record``, since PostgreSQL's partitioned records have no single-column key);
  ``received_at`` and the acknowledgement: ``acknowledged_by`` (a user), ``acknowledged_at``, ``ack_note``.
  Use `Alert.acknowledge` and audit it.
- `AuditEntry`: append-only (``save`` of an existing row and ``delete`` raise). Write it with
  `gate.collector.audit.audit`.
- Users are ``django.contrib.auth`` users; the role is the Group ``viewer``/``tracer``/``admin``
  (`gate.collector.roles`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class Device(models.Model):
    """A gate allowed to upload: its id and Ed25519 public key."""

    device_id = models.CharField(max_length=200, primary_key=True)
    public_key = models.TextField(unique=True)
    enabled = models.BooleanField(default=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "collector_device"
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id


class Heartbeat(models.Model):
    """The latest heartbeat of one device (upload.md, Heartbeat), when it arrived, and its signed
    ``X-Gate-Timestamp`` (``signed_at``, unix seconds): only a newer one replaces it."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, primary_key=True,
                                  related_name="heartbeat")
    received_at = models.DateTimeField()
    signed_at = models.BigIntegerField(default=0)
    data = models.JSONField()

    class Meta:
        db_table = "collector_heartbeat"


class Record(models.Model):
    """One scan record (upload.md RECORD) with the columns searches need."""

    id = models.CharField(max_length=36, primary_key=True)
    device_id = models.CharField(max_length=200)
    venue_id = models.CharField(max_length=200)
    venue_type = models.CharField(max_length=100)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField()
    decision = models.CharField(max_length=20)
    reasons = models.TextField()
    issuer = models.CharField(max_length=100)
    sub = models.CharField(max_length=200)
    code_status = models.CharField(max_length=20)
    temperature_c = models.FloatField(null=True)
    is_alert = models.BooleanField()
    record = models.JSONField()

    class Meta:
        db_table = "collector_record"
        managed = True
        indexes = [
            models.Index(fields=["issuer", "sub", "scanned_at"], name="record_subject_time"),
            models.Index(fields=["venue_id", "scanned_at"], name="record_venue_time"),
            models.Index(fields=["scanned_at"], name="record_time"),
        ]

    @property
    def reason_list(self) -> list[str]:
        return self.reasons.split()


class Alert(models.Model):
    """A record that is an alert (or a paged record acknowledged), and who acknowledged it."""

    record = models.OneToOneField(Record, on_delete=models.DO_NOTHING, db_constraint=False,
                                  primary_key=True, related_name="alert")
    received_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_note = models.TextField(blank=True, default="")

    class Meta:
        db_table = "collector_alert"
        indexes = [models.Index(fields=["received_at"], name="alert_received")]

    def acknowledge(self, user: Any, note: str = "") -> None:
        """Mark the alert handled by `user` now, with `note`."""
        self.acknowledged_by = user
        self.acknowledged_at = timezone.now()
        self.ack_note = note
        self.save(update_fields=["acknowledged_by", "acknowledged_at", "ack_note"])


class AuditEntry(models.Model):
    """One audited action: who, when, what (the query or the change), from where, how many."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                             related_name="+")
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=100, db_index=True)
    what = models.JSONField()
    address = models.CharField(max_length=100, blank=True, default="")
    count = models.IntegerField(null=True)

    class Meta:
        db_table = "collector_audit"
        ordering = ["-at", "-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("audit entries are append-only")
