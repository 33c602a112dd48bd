"""The registry of gates allowed to upload (console.md, Devices), for the commands and the console.

`add_device` refuses an id outside the gate's id alphabet (`gate.ids`), an id that exists unless
`replace`, and a public key already registered
to another device; `set_enabled` enables or disables; `device_summary` is one object of
``gate collector devices --json``: ``id``, ``enabled``, ``last_heartbeat_at``, ``online`` (a
heartbeat within `ONLINE_WINDOW_S`), and the latest heartbeat's fields (upload.md). All work
on the database alias made current with `gate.collector.django_db.activate`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from django.db import IntegrityError, transaction

from gate.collector.django_db import current_alias
from gate.collector.models import Device, Heartbeat
from gate.collector.tracing import iso
from gate.errors import GateError
from gate.ids import id_problem

ONLINE_WINDOW_S = 600


class DeviceError(GateError, ValueError):
    """A change to the registry that is refused; the message is one sentence for a person."""


def add_device(device_id: str, public_key_b64: str, replace: bool = False) -> str:
    """Register `device_id` with its key: "added", or "replaced" (only when `replace`).

    A new device is enabled; replacing a key keeps the device's enabled state.
    """
    problem = id_problem(device_id)
    if problem is not None:
        raise DeviceError(problem)
    with transaction.atomic(using=current_alias()):
        holder = (Device.objects.filter(public_key=public_key_b64)
                  .exclude(pk=device_id).values_list("pk", flat=True).first())
        if holder is not None:
            raise DeviceError(f"this public key is already registered to device {holder}")
        device = Device.objects.select_for_update().filter(pk=device_id).first()
        if device is not None:
            if not replace:
                raise DeviceError(f"device {device_id} is already registered; give --replace "
                                  "to replace its key")
            device.public_key = public_key_b64
            device.save(update_fields=["public_key"])
            return "replaced"
        try:
            with transaction.atomic(using=current_alias()):
                Device.objects.create(device_id=device_id, public_key=public_key_b64)
        except IntegrityError as exc:
            raise DeviceError(f"device {device_id} or its key was registered meanwhile") from exc
    return "added"


def set_enabled(device_id: str, enabled: bool) -> bool:
    """Enable or disable a device; False when there is no such device."""
    return Device.objects.filter(pk=device_id).update(enabled=enabled) == 1


def device_summary(device: Device, heartbeat: Heartbeat | None,
                   now: float | None = None) -> dict[str, Any]:
    """One device as ``devices --json`` prints it."""
    now = time.time() if now is None else now
    out: dict[str, Any] = dict(heartbeat.data) if heartbeat is not None else {}
    arrived = heartbeat.received_at if heartbeat is not None else None
    out.update({
        "id": device.device_id,
        "enabled": device.enabled,
        "last_heartbeat_at": iso(arrived) if arrived else None,
        "online": bool(arrived and now - arrived.timestamp() <= ONLINE_WINDOW_S),
    })
    return out


def devices_summary(now: float | None = None) -> list[dict[str, Any]]:
    """Every registered device, by id, with its latest heartbeat."""
    beats = {h.device_id: h for h in Heartbeat.objects.all()}
    return [device_summary(d, beats.get(d.device_id), now) for d in Device.objects.order_by("pk")]


def utc_from_unix(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
