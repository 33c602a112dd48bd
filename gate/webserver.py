"""A waitress server on a background thread that can be stopped and started again on its port.

The kiosk's screen and the collector (in tests, benchmarks and the sync tests that take it away
mid-round) both need one. The loop is driven here one short poll at a time and closes the
sockets itself when asked to stop, so no other thread pulls a socket from under select().
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from waitress import wasyncore
from waitress.server import create_server


POLL_S = 0.05  # how soon the loop notices stop()


class ThreadedServer:
    """Serve a WSGI `app` with waitress on a daemon thread.

    `port=0` picks a free port at the first start; later starts reuse it. `adjustments` are
    waitress settings (threads, ident, channel_timeout, ...). `before_stop` runs first on
    `stop()` (e.g. to end long-lived streams); requests in hand then get `drain_s` to finish.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "http",
                 before_stop: Callable[[], None] | None = None, drain_s: float = 2.0, **adjustments: Any) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self.before_stop = before_stop
        self.drain_s = drain_s
        self.adjustments = adjustments
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "ThreadedServer":
        """Listen and serve; OSError when the port cannot be had. Starting a running server does nothing."""
        if self.running:
            return self
        self._server = create_server(self.app, host=self.host, port=self.port, **self.adjustments)
        self.port = self._server.effective_port
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._server, self._stopping),
                                        name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _run(server: Any, stopping: threading.Event) -> None:
        try:
            while not stopping.is_set() and server._map:
                wasyncore.loop(timeout=POLL_S, map=server._map, count=1)
        finally:
            wasyncore.close_all(server._map, ignore_all=True)

    def stop(self) -> None:
        """Close the listening socket and every connection; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self.before_stop is not None:
            self.before_stop()
        dispatcher = server.task_dispatcher
        deadline = time.monotonic() + self.drain_s
        while (dispatcher.active_count or dispatcher.queue) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stopping.set()
        thread.join(5.0)
        dispatcher.shutdown(timeout=5)
        self._server = None
        self._thread = None
