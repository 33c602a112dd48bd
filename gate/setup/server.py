"""The setup page's HTTPS server: cheroot (threaded WSGI, TLS through Python's ssl module).

Why cheroot: waitress (the screen's and collector's server) does not speak TLS, and the page must
be HTTPS on the local network without a reverse proxy on the gate. cheroot is CherryPy's
well-kept, pure-Python, threaded WSGI server with a builtin TLS adapter; a live camera view holds
one thread while open, so the pool has room for those and the API at once.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

THREADS = 10


def parse_listen(listen: str) -> tuple[str, int]:
    """("host", port) from "host:port" or "[v6]:port"."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class SetupServer:
    """Serve `app` over HTTPS on (host, port) from a background thread; port 0 picks a free one."""

    def __init__(self, app: Any, host: str, port: int, cert: Path, key: Path, *, on_stop: Any = None) -> None:
        self._server = wsgi.Server((host, port), app, numthreads=THREADS, server_name="gate-setup",
                                   shutdown_timeout=2)
        adapter = BuiltinSSLAdapter(str(cert), str(key))
        adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server.ssl_adapter = adapter
        self._thread: threading.Thread | None = None
        self._on_stop = on_stop

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    @property
    def host(self) -> str:
        return str(self._server.bind_addr[0])

    def start(self) -> "SetupServer":
        """Bind (OSError when the address cannot be had) and serve on a daemon thread."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="gate-setup", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.prepare()
        self._server.serve()

    def stop(self) -> None:
        if self._on_stop is not None:
            self._on_stop()
        self._server.stop()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
