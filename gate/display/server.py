"""`DisplayServer`: the screen's web app served by waitress on a background thread.

The kiosk makes one, calls `start()`, then `publish(state)` after every decision or fault and
`publish_frame(jpeg)` a few times a second while idle; Chromium in kiosk mode shows `url`.
Each browser's live connection (`/events`, `/live.mjpg`) holds one of waitress's threads while
it is open, so the server has `max_streams` threads for those plus a few for everything else.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from gate.display.app import HEARTBEAT_S, DisplayApp

_SPARE_THREADS = 3  # for the page, frames, metrics and health while every stream is open


class DisplayServer:
    """The gate's screen on http://host:port/ (`port=0`: a free port, chosen at the first start).

    `start()` raises OSError when the port cannot be had; `stop()` ends every open stream and
    closes the server, is safe to call twice, and a stopped server can be started again.
    What was published survives a restart.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, max_streams: int = 4,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.host = host
        self.port = port
        self.app = DisplayApp(max_streams=max_streams, heartbeat_s=heartbeat_s)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, e.g. http://127.0.0.1:8080/ (the port is known once started)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def publish(self, state: dict[str, Any]) -> None:
        """Show a state: see DisplayApp.publish (ValueError for a dict without a known kind)."""
        self.app.publish(state)

    def publish_frame(self, jpeg: bytes) -> None:
        """The camera's newest frame (JPEG bytes) for the live view while idle."""
        self.app.publish_frame(jpeg)

    def set_metrics_registry(self, registry: Any) -> None:
        """Serve this CollectorRegistry (or a GateMetrics) at /metrics."""
        self.app.set_metrics_registry(registry)

    def start(self) -> "DisplayServer":
        if self.running:
            return self
        self.app.reopen()
        self._server = create_server(
            self.app, host=self.host, port=self.port,
            threads=self.app.max_streams + _SPARE_THREADS,
            ident="gate-display",
            # a stream's heartbeat keeps its channel busy; anything idle this long is gone
            channel_timeout=max(30, int(self.app.heartbeat_s * 3)),
            clear_untrusted_proxy_headers=True,
        )
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name=f"display-{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.app.close()  # open streams return, freeing their threads
        # let every request in hand finish before its channel and the server's trigger go away
        dispatcher = server.task_dispatcher
        deadline = time.monotonic() + 2.0
        while (dispatcher.active_count or dispatcher.queue) and time.monotonic() < deadline:
            time.sleep(0.01)
        # close every connection from inside the server's own loop (through its trigger), so no
        # other thread pulls a socket from under select(); the emptied map ends the loop
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
        thread.join(5.0)
        server.task_dispatcher.shutdown(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "DisplayServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
