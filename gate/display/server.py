"""`DisplayServer`: the screen's web app served by waitress on a background thread.

The kiosk makes one, calls `start()`, then `publish(state)` after every decision or fault and
`publish_frame(jpeg)` a few times a second while idle; Chromium in kiosk mode shows `url`.
Each browser's live connection (`/events`, `/live.mjpg`) holds one of waitress's threads while
it is open, so the server has `max_streams` threads for those plus a few for everything else.
"""

from __future__ import annotations

from typing import Any

from gate.display.app import HEARTBEAT_S, DisplayApp
from gate.webserver import ThreadedServer

_SPARE_THREADS = 3  # for the page, frames, metrics and health while every stream is open


class DisplayServer:
    """The gate's screen on http://host:port/ (`port=0`: a free port, chosen at the first start).

    `start()` raises OSError when the port cannot be had; `stop()` ends every open stream and
    closes the server, is safe to call twice, and a stopped server can be started again.
    What was published survives a restart.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, max_streams: int = 4,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.app = DisplayApp(max_streams=max_streams, heartbeat_s=heartbeat_s)
        self._http = ThreadedServer(
            self.app, host, port, name="display",
            before_stop=self.app.close,  # open streams return, freeing their threads
            threads=max_streams + _SPARE_THREADS,
            ident="gate-display",
            # a stream's heartbeat keeps its channel busy; anything idle this long is gone
            channel_timeout=max(30, int(heartbeat_s * 3)),
            clear_untrusted_proxy_headers=True,
        )

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        """The page's address, e.g. http://127.0.0.1:8080/ (the port is known once started)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._http.running

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
        if not self._http.running:
            self.app.reopen()
            self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> "DisplayServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
