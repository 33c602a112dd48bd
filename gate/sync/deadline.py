"""A total deadline for one request: its socket is shut when the time is up, whatever phase it is in.

Socket timeouts bound each read, not the whole: a peer that sends one byte a second keeps every
read alive. Here a timer shuts the socket of the connection the request runs on when the deadline
passes; the blocked read then ends at once (connecting, sending, waiting for the status line,
headers or body alike). The connection tells the request's deadline which socket it is: the
adapter mounts connection pools whose connections look the deadline up in a context variable
set by `watching()`. Retries are off in the adapter (`max_retries=0`): they are made by
`gate.sync.retry`.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from typing import Any, Iterator

import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """Shuts the socket of the request in flight when its time is up."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self.expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._conn is not None:
                _shut(self._conn)


@contextlib.contextmanager
def watching(seconds: float) -> Iterator[Deadline]:
    """A started Deadline of `seconds` for the requests made in this block (this thread)."""
    deadline = Deadline(seconds)
    token = _WATCH.set(deadline)
    deadline.start()
    try:
        yield deadline
    finally:
        deadline.cancel()
        _WATCH.reset(token)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_WATCH: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("gate_sync_deadline",
                                                                          default=None)


class _Watched:
    """Mixin for urllib3 connections: tell the request's deadline which socket to shut."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._watch()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._watch()
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _watch(self) -> None:
        deadline = _WATCH.get()
        if deadline is not None:
            deadline.attach(self)


class _WatchedHTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An adapter without retries whose connections answer to the request's deadline."""

    def __init__(self) -> None:
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}
