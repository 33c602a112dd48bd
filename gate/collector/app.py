"""The collector's WSGI application: Django (device API, console) on one database alias.

`create_app(db_url, lists_dir, ...)` sets Django up (once per process), registers `db_url` as a
database alias (migrating it), and answers a `CollectorApp`: a WSGI callable that makes its alias
and `Runtime` (lists, alert notifier, clock) current around each request, then hands the request
to Django's handler (static files of the console under ``/console/static/`` included). Several
collectors with different databases can run in one process (tests, benchmarks): each has its own
alias, and Django's router (`gate.collector.django_db`) follows the one made current.

`CollectorApp.db` is a `Store`: the few reads and writes tests, benchmarks and the CLI need
outside a request (count, one record, devices), each run on the app's alias.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from gate.collector import django_db, runtime
from gate.collector.alerts import AlertNotifier
from gate.collector.clients import IPNetwork, parse_networks
from gate.collector.lists import ListsDirectory
from gate.collector.records import DEFAULT_RETENTION_DAYS, ScanWindow

StartResponse = Callable[..., Any]


class Store:
    """Plain-call access to one collector's database (outside a request)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with django_db.activate(self.alias):
            return fn(*args)

    def add_device(self, device_id: str, public_key_b64: str, replace: bool = True) -> str:
        """Register a device (replacing its key when it exists and `replace`)."""
        from gate.collector.devices import add_device

        return self._run(add_device, device_id, public_key_b64, replace)

    def set_device_enabled(self, device_id: str, enabled: bool) -> bool:
        from gate.collector.devices import set_enabled

        return self._run(set_enabled, device_id, enabled)

    def count_records(self, device_id: str | None = None) -> int:
        from gate.collector.models import Record

        query = Record.objects.all()
        if device_id is not None:
            query = query.filter(device_id=device_id)
        return self._run(query.count)

    def record(self, record_id: str) -> dict[str, Any] | None:
        """The stored JSON of one record, or None."""
        from gate.collector.models import Record

        row = self._run(lambda: Record.objects.filter(pk=record_id.lower())
                        .values_list("record", flat=True).first())
        return row

    def recent_alerts(self, limit: int = 50) -> list[Any]:
        """The newest alerts first (`Alert` objects with ``id``, the record's id, and ``record``)."""
        from gate.collector.models import Alert

        def newest() -> list[Any]:
            alerts = list(Alert.objects.select_related("record")
                          .order_by("-received_at", "-record_id")[:limit])
            for alert in alerts:
                alert.id = alert.record_id
            return alerts

        return self._run(newest)

    def heartbeat(self, device_id: str) -> tuple[float, dict[str, Any]] | None:
        """(arrival time in epoch seconds, body) of the device's latest heartbeat, or None."""
        from gate.collector.models import Heartbeat

        row = self._run(lambda: Heartbeat.objects.filter(device_id=device_id)
                        .values_list("received_at", "data").first())
        return None if row is None else (row[0].timestamp(), row[1])

    def devices(self) -> list[dict[str, Any]]:
        from gate.collector.devices import devices_summary

        return self._run(devices_summary)

    def ping(self) -> None:
        from django.db import connections

        with connections[self.alias].cursor() as cur:
            cur.execute("SELECT 1")

    def close(self) -> None:
        django_db.close_alias(self.alias)


class _InContext:
    """A response body iterated (and closed) inside the request's context."""

    def __init__(self, ctx: contextvars.Context, body: Iterable[bytes]) -> None:
        self._ctx = ctx
        self._body = body
        self._iter: Iterator[bytes] | None = None

    def __iter__(self) -> "_InContext":
        return self

    def __next__(self) -> bytes:
        if self._iter is None:
            self._iter = self._ctx.run(iter, self._body)
        return self._ctx.run(next, self._iter)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            self._ctx.run(close)


class CollectorApp:
    """The WSGI callable of one collector; build it with `create_app`."""

    def __init__(self, alias: str, lists: ListsDirectory, notifier: AlertNotifier,
                 clock: Callable[[], float] = time.time, directive_key: Path | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS,
                 trusted_proxies: tuple[IPNetwork, ...] = ()) -> None:
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.wsgi import get_wsgi_application

        self.alias = alias
        self.runtime = runtime.Runtime(lists, notifier, clock, directive_key,
                                       retention_days, tuple(trusted_proxies))
        runtime.set_fallback(self.runtime)
        self.db = Store(alias)
        self._handler = StaticFilesHandler(get_wsgi_application())

    @property
    def lists(self) -> ListsDirectory:
        return self.runtime.lists

    @property
    def notifier(self) -> AlertNotifier:
        return self.runtime.notifier

    def activate(self) -> Any:
        """``with app.activate():`` runs ORM code (and views) against this collector."""
        return _Activation(self)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        ctx = contextvars.copy_context()
        ctx.run(self._enter)
        body = ctx.run(self._handler, environ, start_response)
        return _InContext(ctx, body)

    def _enter(self) -> None:  # in the request's own copied context, thrown away with it
        django_db.select(self.alias)
        runtime.select(self.runtime)

    def close(self) -> None:
        """Finish pending webhook posts and close this thread's database connection."""
        self.runtime.notifier.close()
        self.db.close()


class _Activation:
    def __init__(self, app: CollectorApp) -> None:
        self.app = app
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> CollectorApp:
        self._stack.enter_context(django_db.activate(self.app.alias))
        self._stack.enter_context(runtime.using(self.app.runtime))
        return self.app

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def create_app(
    db_url: str,
    lists_dir: str | Path,
    alert_log: str | Path | None = None,
    webhook_url: str | None = None,
    clock: Callable[[], float] = time.time,
    directive_key: str | Path | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    trusted_proxies: Iterable[str] = (),
) -> CollectorApp:
    """The collector over the database at `db_url` (created or migrated) and lists in `lists_dir`.

    `alert_log`: a JSON-lines file new alerts are appended to; `webhook_url`: where new alerts are
    POSTed; `clock`: unix time now (injected by tests); `directive_key`: the collector's directive
    key file (signs bulletins and venue cards in the console); `retention_days`: how old a
    record's ``scanned_at`` may be (older ones are refused, upload.md); `trusted_proxies`: CIDR
    texts of the reverse proxies whose ``X-Forwarded-For`` names the client. ValueError for an
    unsupported URL or a bad network.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    proxies = parse_networks(trusted_proxies)
    alias = django_db.database_alias(db_url)  # sets Django up: models may be imported after it
    from gate.collector import partitions

    partitions.ensure_ahead(alias, ScanWindow.around(clock(), retention_days))
    return CollectorApp(alias, ListsDirectory(lists_dir), AlertNotifier(alert_log, webhook_url),
                        clock, Path(directive_key) if directive_key is not None else None,
                        retention_days, proxies)
