"""The audit trail of console.md: every search, trace, export and change, append-only.

`audit(request, action, what, count)` writes one `AuditEntry` for the signed-in user of a
console request; `audit_command(action, what, count)` for a command run on the server (the
user is ``cli:<login name>``). `what` is the query or the change as a JSON-able dict.
Actions in use: ``records.search``, ``records.export``, ``trace``, ``trace.export``,
``alert.acknowledge``, ``device.add``, ``device.replace``, ``device.enable``,
``device.disable``, ``user.add``, ``user.set_role``, ``user.disable``, ``bulletin.publish``,
``venue_card.issue``.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.http import HttpRequest

from gate.collector import clients, runtime
from gate.collector.models import AuditEntry


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or through ``serve --trusted-proxy`` the right-most
    ``X-Forwarded-For`` address that is not a trusted proxy (`gate.collector.clients`)."""
    return clients.client_address(request.META, runtime.current().trusted_proxies)


def audit(request: HttpRequest, action: str, what: dict[str, Any],
          count: int | None = None) -> AuditEntry:
    """Record that the request's user did `action` with `what`, returning `count` records."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return AuditEntry.objects.create(
        user=user if signed_in else None,
        username=user.get_username() if signed_in else "anonymous",
        action=action, what=what, address=client_address(request), count=count,
    )


def audit_command(action: str, what: dict[str, Any], count: int | None = None) -> AuditEntry:
    """Record an action taken with a ``gate collector`` command on this machine."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return AuditEntry.objects.create(user=None, username=f"cli:{login}", action=action,
                                     what=what, address="local", count=count)
