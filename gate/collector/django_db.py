"""Django in the collector's process: set up once, one database alias per collector.

Django has one settings object per process, but tests (and a benchmark) run several collectors
with different databases in one process. So each collector gets its own database **alias**,
added at run time (`database_alias`), and `CollectorRouter` sends every ORM query to the alias
made current with `activate` (a context variable): the one way the collector chooses a database
(its `Runtime` holds none). `gate.collector.app.CollectorApp` activates
its alias around each request it serves, so the device API, the console, sessions and sign-in all
use that collector's database. Code outside a request (the CLI, tests) wraps its work in
``with activate(alias):`` or passes ``using=alias``.

`setup()` configures Django (``gate.collector.settings``) and is safe to call many times.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from django.db import DEFAULT_DB_ALIAS

_current: contextvars.ContextVar[str] = contextvars.ContextVar("gate_collector_db",
                                                                 default=DEFAULT_DB_ALIAS)
_lock = threading.RLock()
_migrated: set[str] = set()
_MIGRATE_LOCK_KEY = 847001  # the schema lock of the collector before Django, kept
_ready = False


def setup() -> None:
    """Configure Django for the collector (once per process)."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gate.collector.settings")
        import logging

        import django

        django.setup()
        # a refused gate request (401, 413, ...) is the API working, not a collector fault
        logging.getLogger("django.request").setLevel(logging.ERROR)
        _ready = True


class CollectorRouter:
    """Routes every query to the alias made current by `activate` (``default`` otherwise)."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return _current.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return _current.get()

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


def current_alias() -> str:
    """The alias queries go to now."""
    return _current.get()


def select(alias: str) -> contextvars.Token[str]:
    """Send the ORM's queries to `alias` in this context until reset (a request's copied
    context, thrown away with it); elsewhere use `activate`."""
    return _current.set(alias)


@contextmanager
def activate(alias: str) -> Iterator[str]:
    """Send the ORM's queries to `alias` inside the block."""
    token = select(alias)
    try:
        yield alias
    finally:
        _current.reset(token)


def database_alias(url: str, migrate: bool = True) -> str:
    """The alias for the database at `url`, registered on first use and migrated when `migrate`.

    The URL in ``GATE_COLLECTOR_DB`` (or the default) is ``default``; any other URL gets
    ``c_<hash>``. ValueError for an unsupported URL; `django.db.OperationalError` when the
    database cannot be reached.
    """
    setup()
    from django.conf import settings
    from django.db import connections

    from gate.collector.dburl import database_settings

    with _lock:
        alias = None
        for name, conf in connections.settings.items():
            if conf.get("GATE_URL") == url:
                alias = name
                break
        if alias is None:
            conf = database_settings(url)
            alias = "c_" + hashlib.sha256(url.encode()).hexdigest()[:16]
            filled = connections.configure_settings({DEFAULT_DB_ALIAS: conf})[DEFAULT_DB_ALIAS]
            connections.settings[alias] = filled
            settings.DATABASES[alias] = filled
        if migrate and alias not in _migrated:
            migrate_database(alias)
            _migrated.add(alias)
    return alias


def migrate_database(alias: str) -> None:
    """Create or update the schema at `alias` (Django migrations; partitions on PostgreSQL)."""
    from django.core.management import call_command
    from django.db import connections

    connection = connections[alias]
    postgres = connection.vendor == "postgresql"
    with activate(alias):
        if postgres:  # several collector processes may start at once on one database
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", [_MIGRATE_LOCK_KEY])
        try:
            call_command("migrate", database=alias, verbosity=0, interactive=False)
        finally:
            if postgres:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATE_LOCK_KEY])


def close_alias(alias: str) -> None:
    """Close this thread's connection to `alias` (other threads close theirs when they end)."""
    from django.db import connections

    if alias in connections:
        connections[alias].close()
