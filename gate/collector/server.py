"""Serving the collector with waitress: in the foreground (`serve`) or on a background thread.

`BackgroundServer` runs a real waitress server on a thread and can be stopped and started again
on the same port: tests and benchmarks use it to put a collector on loopback, and to take it
away in the middle of a sync round.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from gate.collector.app import MAX_BODY_BYTES

DEFAULT_THREADS = 8
_POLL_S = 0.05  # how soon a BackgroundServer notices stop()

_ADJUSTMENTS: dict[str, Any] = {
    # our own 413 (with a JSON body) answers first; waitress's limit is only a backstop
    "max_request_body_size": 2 * MAX_BODY_BYTES,
    "ident": "gate-collector",
    "clear_untrusted_proxy_headers": True,
}


def serve(app: Any, host: str = "127.0.0.1", port: int = 8470,
          threads: int = DEFAULT_THREADS) -> None:
    """Serve `app` until interrupted."""
    server = create_server(app, host=host, port=port, threads=threads, **_ADJUSTMENTS)
    logging.getLogger("gate.collector").info(
        "collector listening on http://%s:%s", host, server.effective_port
    )
    server.run()


class BackgroundServer:
    """A waitress server for `app` on a daemon thread; `url` is its base URL once started.

    `port=0` picks a free port at the first start; later starts reuse it.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 4) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "BackgroundServer":
        if self.running:
            return self
        self._server = create_server(
            self.app, host=self.host, port=self.port, threads=self.threads, **_ADJUSTMENTS
        )
        self.port = self._server.effective_port
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._server, self._stopping),
                                        name=f"collector-{self.port}", daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _run(server: Any, stopping: threading.Event) -> None:
        # The loop is driven here, one short poll at a time, so that closing the sockets
        # happens on this thread: no other thread pulls a socket from under select().
        try:
            while not stopping.is_set() and server._map:
                wasyncore.loop(timeout=_POLL_S, map=server._map, count=1)
        finally:
            wasyncore.close_all(server._map, ignore_all=True)
            server.task_dispatcher.shutdown()

    def stop(self) -> None:
        """Close the listening socket and every open connection; safe to call twice."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join(10.0)
        self._server = None
        self._thread = None

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
