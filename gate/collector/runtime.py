"""What a request of one collector needs beyond its database: lists, alert notifier, clock.

`gate.collector.app.CollectorApp` makes its `Runtime` current around every request; the views
read it with `current()`. Which database a request uses is chosen in one place only,
`gate.collector.django_db` (``activate``/``select``): a Runtime holds no database.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from gate.collector.alerts import AlertNotifier
from gate.collector.clients import IPNetwork
from gate.collector.lists import ListsDirectory
from gate.collector.records import DEFAULT_RETENTION_DAYS


@dataclass
class Runtime:
    """One collector's signed lists, alert notifier, clock, directive key and limits.

    `directive_key` is the path of the collector's directive key (PEM, `gate keys new directive`)
    that signs bulletins and venue cards; None when none is configured. `retention_days` bounds
    the plausible ``scanned_at`` of a record (`gate.collector.records.ScanWindow`);
    `trusted_proxies` are the networks whose ``X-Forwarded-For`` is believed
    (`gate.collector.clients`).
    """

    lists: ListsDirectory
    notifier: AlertNotifier = field(default_factory=AlertNotifier)
    clock: Callable[[], float] = time.time
    directive_key: Path | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    trusted_proxies: tuple[IPNetwork, ...] = ()


_current: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar(
    "gate_collector_runtime", default=None)
_fallback: Runtime | None = None


def current() -> Runtime:
    """The runtime of the collector serving this request (or the process's only one)."""
    runtime = _current.get() or _fallback
    if runtime is None:
        raise RuntimeError("no collector is active: build one with gate.collector.create_app")
    return runtime


def set_fallback(runtime: Runtime) -> None:
    """The runtime used where none is active (the first collector made in the process)."""
    global _fallback
    if _fallback is None:
        _fallback = runtime


def select(runtime: Runtime) -> contextvars.Token[Runtime | None]:
    """Make `runtime` current in this context until reset (a request's copied context)."""
    return _current.set(runtime)


@contextmanager
def using(runtime: Runtime) -> Iterator[Runtime]:
    """Make `runtime` current inside the block."""
    token = select(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)
