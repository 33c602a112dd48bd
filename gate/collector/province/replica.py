"""A city beyond one process: the console reading from a streaming replica (``serve --db-read``).

`pair(primary_alias, read_alias)` says that the console of the collector on `primary_alias` may
read from `read_alias` (a hot standby made with pg_basebackup). `ReadReplicaRouter`, first in
``DATABASE_ROUTERS``, sends a console request's reads of records, alerts, devices and heartbeats
there (outside a transaction: reads inside a write see the primary); everything else stays with `gate.collector.django_db.CollectorRouter` (the primary):
every write (acknowledgements included: a write is routed by ``db_for_write``), and the reads
that must see the latest write: users and groups (sign-in), sessions, sign-in throttles and the
console's own tables, and the audit log. `ConsoleReadsMiddleware` marks console requests; the
device API always reads and writes the primary. `read_alias()` is the alias a console view's own
SQL should read from.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse

from gate.collector.django_db import current_alias

_pairs: dict[str, str] = {}
_console: contextvars.ContextVar[bool] = contextvars.ContextVar("gate_console_reads",
                                                                default=False)
REPLICA_MODELS = frozenset({("collector", "record"), ("collector", "alert"),
                            ("collector", "device"), ("collector", "heartbeat")})


def pair(primary_alias: str, read_alias: str) -> None:
    """Let the console of `primary_alias` read records and fleet state from `read_alias`."""
    _pairs[primary_alias] = read_alias


def unpair(primary_alias: str) -> None:
    _pairs.pop(primary_alias, None)


def read_alias() -> str:
    """Where a console request's own reads of collector tables go (the primary when unpaired)."""
    primary = current_alias()
    return _pairs.get(primary, primary) if _console.get() else primary


class ReadReplicaRouter:
    """Console reads of `REPLICA_MODELS` to the paired replica; no opinion on anything else."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if not _console.get():
            return None
        meta = model._meta
        if (meta.app_label, meta.model_name) not in REPLICA_MODELS:
            return None
        primary = current_alias()
        if primary not in _pairs or connections[primary].in_atomic_block:
            return None  # reads inside a write (an acknowledgement) see the primary
        return _pairs[primary]

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in _pairs.values() else None


class ConsoleReadsMiddleware:
    """Marks requests under /console/ as console reads (which may go to the replica)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _console.set(request.path.startswith("/console/"))
        try:
            return self.get_response(request)
        finally:
            _console.reset(token)


def use_replica(primary_alias: str, url: str) -> str:
    """Register the replica at `url` (never migrated: it is read-only), check that it answers,
    and pair it with `primary_alias`; its alias. ValueError for a bad URL, DatabaseError when
    it cannot be reached."""
    from django.db import connections

    from gate.collector.django_db import database_alias

    alias = database_alias(url, migrate=False)
    with connections[alias].cursor() as cur:
        cur.execute("SELECT 1")
    pair(primary_alias, alias)
    return alias
