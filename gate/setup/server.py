"""The setup page's HTTPS server: cheroot (threaded WSGI, TLS through Python's ssl module).

Why cheroot: waitress (the screen's and collector's server) does not speak TLS, and the page must
be HTTPS on the local network without a reverse proxy on the gate. cheroot is CherryPy's
well-kept, pure-Python, threaded WSGI server; a live camera view holds one thread while open, so
the pool has room for those and the API at once.

Two things differ from cheroot's own TLS adapter:

- The TLS handshake is not made in the accept loop. cheroot's builtin adapter shakes hands as it
  accepts, so one idle TCP connection that never sends a ClientHello held every other browser up
  for the server's timeout (8 of them locked the technician out). Here a connection is accepted
  as it is; it waits in cheroot's selector until its first bytes arrive, and the worker thread
  that reads them makes the handshake (OpenSSL does it on the first read of a server socket).
- A browser that drops a connection (it does so with spare ones all the time) or refuses the
  certificate is one quiet log line, not a traceback.

The certificate and key are checked before anything listens (gate.tls.server_context): a bad
file is one line (TLSFileError), never a traceback or a hang.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import sys
import threading
from io import DEFAULT_BUFFER_SIZE
from pathlib import Path
from typing import Any

import _pyio

from cheroot import errors, wsgi
from cheroot.makefile import StreamReader, StreamWriter
from cheroot.ssl import Adapter

from gate.tls import server_context

log = logging.getLogger("gate.setup.server")

THREADS = 10
_PLAIN_HTTP_MESSAGE = b"This is the gate's setup page: use https:// (the browser spoke plain HTTP).\n"
_PLAIN_HTTP_ANSWER = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      b"Content-Length: " + str(len(_PLAIN_HTTP_MESSAGE)).encode() + b"\r\nConnection: close\r\n\r\n"
                      + _PLAIN_HTTP_MESSAGE)
TIMEOUT_S = 10  # a connection that started a request (or a handshake) and sends nothing more


def parse_listen(listen: str) -> tuple[str, int]:
    """("host", port) from "host:port" or "[v6]:port"."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class LazyHandshakeAdapter(Adapter):
    """cheroot's TLS adapter with the handshake left to the worker that first reads the connection."""

    def __init__(self, context: ssl.SSLContext) -> None:  # noqa: D107  (cheroot's signature is for files)
        self.certificate = self.private_key = self.certificate_chain = self.ciphers = None
        self.private_key_password = None
        self.context = context

    def bind(self, sock: socket.socket) -> socket.socket:
        return sock

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict[str, str]]:
        """The socket in TLS's server mode; no byte is read or written here (the accept loop)."""
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), self.get_environ()

    def get_environ(self, sock: Any = None) -> dict[str, str]:
        return {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def makefile(self, sock: Any, mode: str = "r", bufsize: int = DEFAULT_BUFFER_SIZE) -> Any:
        return (_Reader if "r" in mode else _Writer)(sock, mode, bufsize)


class _TLSSocketIO(socket.SocketIO):
    """A TLS connection's raw stream: a peer that drops it (or fails the handshake made on the first
    read) is said once, quietly, and ends the connection as cheroot expects (FatalSSLAlert, which
    it closes without a word). Plain HTTP is answered with a 400 saying to use https://."""

    def readinto(self, b: Any) -> int | None:
        try:
            return super().readinto(b)
        except (ssl.SSLError, ConnectionError) as exc:
            raise self._dropped(exc) from exc

    def write(self, b: Any) -> int | None:
        try:
            return super().write(b)
        except (ssl.SSLError, ConnectionError) as exc:
            raise self._dropped(exc) from exc

    def _dropped(self, exc: BaseException) -> Exception:
        sock = self._sock
        if isinstance(exc, ssl.SSLError) and "http request" in str(exc).lower():
            log.info("a browser spoke plain HTTP to the setup page's HTTPS port; told to use https://")
            with contextlib.suppress(OSError):  # past TLS, on the bare TCP connection
                socket.socket.sendall(sock, _PLAIN_HTTP_ANSWER)
            return errors.FatalSSLAlert(str(exc))
        if not getattr(sock, "gate_dropped", False):  # one line per connection, reader or writer
            sock.gate_dropped = True
            log.info("a browser's connection ended early: %s", exc)
        return errors.FatalSSLAlert(str(exc))


class _Reader(StreamReader):
    def __init__(self, sock: Any, mode: str = "r", bufsize: int = DEFAULT_BUFFER_SIZE) -> None:
        _pyio.BufferedReader.__init__(self, _TLSSocketIO(sock, mode), bufsize)
        self.bytes_read = 0


class _Writer(StreamWriter):
    def __init__(self, sock: Any, mode: str = "w", bufsize: int = DEFAULT_BUFFER_SIZE) -> None:
        _pyio.BufferedWriter.__init__(self, _TLSSocketIO(sock, mode), bufsize)
        self.bytes_written = 0


class _Server(wsgi.Server):
    """cheroot's WSGI server logging through `logging`: a dropped or refused TLS connection is one
    quiet line, anything else keeps its traceback."""

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout)) or _dropped(msg):
            log.info("a browser's connection ended early: %s", exc or msg.strip())
            return
        log.log(level, "%s", msg.strip(), exc_info=exc if traceback else None)


def _dropped(msg: str) -> bool:
    return "peer dropped the TLS connection" in msg or "plain HTTP" in msg


class SetupServer:
    """Serve `app` over HTTPS on (host, port) from a background thread; port 0 picks a free one.

    Raises gate.tls.TLSFileError (one line) when the certificate or key cannot be used."""

    def __init__(self, app: Any, host: str, port: int, cert: Path, key: Path, *, on_stop: Any = None) -> None:
        context = server_context(cert, key)
        self._server = _Server((host, port), app, numthreads=THREADS, server_name="gate-setup",
                               shutdown_timeout=2, timeout=TIMEOUT_S)
        self._server.ssl_adapter = LazyHandshakeAdapter(context)
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
