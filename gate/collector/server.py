"""Serving the collector with waitress: in the foreground (`serve`) or on a background thread.

`BackgroundServer` runs a real waitress server on a thread and can be stopped and started again
on the same port: tests and benchmarks use it to put a collector on loopback, and to take it
away in the middle of a sync round.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Callable

from waitress.server import create_server

from gate.collector import MAX_BODY_BYTES
from gate.webserver import ThreadedServer

DEFAULT_THREADS = 8

_ADJUSTMENTS: dict[str, Any] = {
    # our own 413 (with a JSON body) answers first; waitress's limit is only a backstop
    "max_request_body_size": 2 * MAX_BODY_BYTES,
    "ident": "gate-collector",
    "clear_untrusted_proxy_headers": True,
}


def _adjustments(app: Any) -> dict[str, Any]:
    """Waitress's settings for `app`. Waitress strips proxy headers (X-Forwarded-For, ...) from
    every request unless told otherwise; a collector with trusted proxies reads X-Forwarded-For
    itself (`gate.collector.clients`, which believes it only from those proxies), so for it they
    are left in place (Django ignores X-Forwarded-Host and -Proto unless configured to trust them)."""
    adjustments = dict(_ADJUSTMENTS)
    if getattr(getattr(app, "runtime", None), "trusted_proxies", ()):
        adjustments["clear_untrusted_proxy_headers"] = False
    return adjustments


def bind(host: str = "127.0.0.1", port: int = 8470) -> socket.socket:
    """A TCP socket bound to `host`:`port` (0: a free port), as waitress binds its own; OSError when
    the address is taken or not this machine's. `gate collector serve` binds first, so a busy port
    is refused before anything is written; `serve` listens on it once the app is ready (until then
    a connection is refused, not left waiting)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: Any, host: str = "127.0.0.1", port: int = 8470,
          threads: int = DEFAULT_THREADS, sock: socket.socket | None = None,
          listening: Callable[[int], None] | None = None) -> None:
    """Serve `app` until interrupted, on `sock` (from `bind`) when given, else on `host`:`port`;
    `listening(port)` is called once connections are accepted."""
    if sock is not None:
        server = create_server(app, sockets=[sock], threads=threads, **_adjustments(app))
    else:
        server = create_server(app, host=host, port=port, threads=threads, **_adjustments(app))
    logging.getLogger("gate.collector").info(
        "collector listening on http://%s:%s", host, server.effective_port
    )
    if listening is not None:
        listening(int(server.effective_port))
    server.run()


class BackgroundServer(ThreadedServer):
    """A waitress server for `app` on a daemon thread; `url` is its base URL once started.

    `port=0` picks a free port at the first start; later starts reuse it.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 4) -> None:
        super().__init__(app, host, port, name="collector", drain_s=0.0, threads=threads,
                         **_adjustments(app))
        self.threads = threads

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        super().start()
        return self

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
