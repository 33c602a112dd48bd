"""The screen's web app: the page, its live updates (server-sent events), the camera view, metrics.

`DisplayApp` is a plain WSGI app holding what the screen shows: the last screen state the kiosk
published (a decision, or idle), the faults in force (codes of gate.faults; the state carries
their Chinese and English lines too), and the newest camera frame. Browsers get
updates pushed over `/events`; each connection is one `_Stream` with a small bounded backlog
(oldest dropped first; frame notices coalesced), so a stuck browser can never make the kiosk wait
or grow memory. A stream holds one server thread for as long as the browser stays, so the number
of streams is capped (`max_streams`) and a further one gets 503.

Routes: `/` the page, `/static/<file>` its CSS/JS, `/events` server-sent events, `/frame.jpg` the
newest frame, `/live.mjpg` the frames as an MJPEG stream, `/state.json` what the screen shows now,
`/metrics` Prometheus text (once a registry is set), `/healthz`, `/vocabulary.json` every
decision's headline and colour class and every message (gate.vocabulary).

The page holds no list of decisions and no texts of its own: a decision state is published with
its headline and the panel's colour class from gate.vocabulary (`screen_words`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.exposition import generate_latest

from gate import vocabulary
from gate.faults import FAULTS, gate_shut

KINDS: tuple[str, ...] = ("decision", "idle", "fault", "venue_card")
HEARTBEAT_S = 10.0
STREAM_BACKLOG = 16  # messages a slow browser may fall behind before the oldest are dropped
RETRY_MS = 1000  # how soon a browser reconnects after losing the stream

_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_NO_STORE = [("Cache-Control", "no-store")]
_MJPEG_BOUNDARY = "gateframe"

StartResponse = Callable[..., Any]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {payload}\n\n".encode()


class _Stream:
    """One browser's pending messages: (event kind, encoded bytes), bounded."""

    def __init__(self, wants_frames_only: bool = False) -> None:
        self.pending: deque[tuple[str, bytes]] = deque(maxlen=STREAM_BACKLOG)
        self.frames_only = wants_frames_only

    def push(self, kind: str, message: bytes) -> None:
        if self.frames_only and kind != "frame":
            return
        if kind == "frame" and self.pending and self.pending[-1][0] == "frame":
            self.pending[-1] = (kind, message)  # only the newest frame matters
        else:
            self.pending.append((kind, message))


class DisplayApp:
    """The WSGI app of the gate's screen; `publish` and `publish_frame` are safe from any thread."""

    def __init__(self, max_streams: int = 4, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.max_streams = max_streams
        self.heartbeat_s = heartbeat_s
        self._cond = threading.Condition()
        self._streams: set[_Stream] = set()
        self._closed = False
        self._seq = 0
        self._screen: dict[str, Any] = {"kind": "idle"}
        self._faults: list[str] = []
        self._frame: bytes | None = None
        self._frame_seq = 0
        self._frame_at = 0.0
        self._registry: CollectorRegistry | None = None

    # -- what the kiosk calls -------------------------------------------------------------

    def publish(self, state: dict[str, Any]) -> None:
        """Show `state`: {"kind": "decision", ...}, {"kind": "venue_card", ...} (a venue card's step),
        {"kind": "idle"} or {"kind": "fault", "faults": [...]}.

        A decision, a card or idle replaces what the panel shows; a fault state only sets the fault
        banner (an empty list clears it) and leaves the panel as it is. Any state may carry
        "faults" to set the banner at the same time. Faults are codes of gate.faults (ValueError
        for any other); the screen shows each one's Chinese and English line from there.
        """
        if not isinstance(state, dict) or state.get("kind") not in KINDS:
            raise ValueError(f"a screen state is a dict whose kind is one of {', '.join(KINDS)}")
        if state["kind"] == "decision":
            state = {**state, **screen_words(state.get("decision"))}
        if "faults" in state or state["kind"] == "fault":
            faults = _fault_codes(state.get("faults") or ())
        with self._cond:
            if "faults" in state or state["kind"] == "fault":
                self._faults = faults
            if state["kind"] != "fault":
                self._screen = {k: v for k, v in state.items() if k != "faults"}
            self._seq += 1
            self._broadcast("state", _sse("state", self._snapshot()))

    def publish_frame(self, jpeg: bytes) -> None:
        """Make `jpeg` (one JPEG image) the newest camera frame for the live view."""
        if not isinstance(jpeg, (bytes, bytearray, memoryview)) or bytes(jpeg[:2]) != b"\xff\xd8":
            raise ValueError("a frame is the bytes of one JPEG image")
        with self._cond:
            self._frame = bytes(jpeg)
            self._frame_seq += 1
            self._frame_at = time.monotonic()
            self._broadcast("frame", _sse("frame", {"n": self._frame_seq}))

    def set_metrics_registry(self, registry: Any) -> None:
        """Serve `registry` (a CollectorRegistry, or anything with a `.registry`) at /metrics."""
        self._registry = getattr(registry, "registry", registry)

    def snapshot(self) -> dict[str, Any]:
        """What the screen shows now: the panel's state plus "faults" and "seq"."""
        with self._cond:
            return self._snapshot()

    @property
    def stream_count(self) -> int:
        with self._cond:
            return len(self._streams)

    def close(self) -> None:
        """End every open stream (their server threads return); new ones are refused."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    # -- internals --------------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        lines = [FAULTS[code].to_json() for code in self._faults]
        return {**self._screen, "faults": list(self._faults), "fault_lines": lines,
                "gate_shut": gate_shut(self._faults), "seq": self._seq}

    def _broadcast(self, kind: str, message: bytes) -> None:
        # caller holds self._cond
        for stream in self._streams:
            stream.push(kind, message)
        self._cond.notify_all()

    def _open_stream(self, frames_only: bool) -> _Stream | None:
        with self._cond:
            if self._closed or len(self._streams) >= self.max_streams:
                return None
            stream = _Stream(frames_only)
            self._streams.add(stream)
            return stream

    def _close_stream(self, stream: _Stream) -> None:
        with self._cond:
            self._streams.discard(stream)

    def _next(self, stream: _Stream) -> list[tuple[str, bytes]] | None:
        """Wait for messages for `stream`: a list (empty on heartbeat), or None once closed."""
        deadline = time.monotonic() + self.heartbeat_s
        with self._cond:
            while not stream.pending and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            if self._closed:
                return None
            items = list(stream.pending)
            stream.pending.clear()
            return items

    def _events(self, stream: _Stream) -> Iterator[bytes]:
        try:
            with self._cond:
                first = [f"retry: {RETRY_MS}\n\n".encode(), _sse("state", self._snapshot())]
                if self._frame is not None:
                    first.append(_sse("frame", {"n": self._frame_seq}))
            yield b"".join(first)
            while True:
                items = self._next(stream)
                if items is None:
                    return
                yield b"".join(m for _, m in items) if items else b": heartbeat\n\n"
        finally:
            self._close_stream(stream)

    def _mjpeg(self, stream: _Stream) -> Iterator[bytes]:
        def part(jpeg: bytes) -> bytes:
            head = (f"--{_MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n").encode()
            return head + jpeg + b"\r\n"

        try:
            with self._cond:
                frame = self._frame
            if frame is not None:
                yield part(frame)
            while True:
                items = self._next(stream)
                if items is None:
                    return
                if not items:
                    continue  # nothing new: a part needs a frame, so no heartbeat here
                with self._cond:
                    frame = self._frame
                if frame is not None:
                    yield part(frame)
        finally:
            self._close_stream(stream)

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "only GET and HEAD\n",
                         [("Allow", "GET, HEAD")])
        if path in ("/", "/index.html"):
            return _static(start_response, "index.html")
        if path.startswith("/static/"):
            return _static(start_response, path[len("/static/"):])
        if path == "/events":
            return self._serve_stream(start_response, frames_only=False)
        if path == "/live.mjpg":
            return self._serve_stream(start_response, frames_only=True)
        if path == "/frame.jpg":
            with self._cond:
                frame = self._frame
            if frame is None:
                return _text(start_response, "404 Not Found", "no camera frame yet\n", _NO_STORE)
            start_response("200 OK", [("Content-Type", "image/jpeg"),
                                      ("Content-Length", str(len(frame))), *_NO_STORE])
            return [frame]
        if path == "/vocabulary.json":
            return _json(start_response, "200 OK", vocabulary.to_json())
        if path == "/state.json":
            return _json(start_response, "200 OK", self.snapshot())
        if path == "/metrics":
            if self._registry is None:
                return _text(start_response, "404 Not Found", "no metrics registry set\n")
            body = generate_latest(self._registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                                      ("Content-Length", str(len(body))), *_NO_STORE])
            return [body]
        if path == "/healthz":
            with self._cond:
                frame_age = (round(time.monotonic() - self._frame_at, 3)
                             if self._frame is not None else None)
                body = {"ok": True, "screen": self._screen.get("kind"),
                        "faults": list(self._faults), "streams": len(self._streams),
                        "frame_age_s": frame_age}
            return _json(start_response, "200 OK", body)
        return _text(start_response, "404 Not Found", f"no such page: {path}\n")

    def _serve_stream(self, start_response: StartResponse, frames_only: bool) -> Iterable[bytes]:
        stream = self._open_stream(frames_only)
        if stream is None:
            return _text(start_response, "503 Service Unavailable",
                         "too many open live connections, or the screen is stopping\n",
                         [("Retry-After", "2")])
        if frames_only:
            content_type = f"multipart/x-mixed-replace; boundary={_MJPEG_BOUNDARY}"
            body = self._mjpeg(stream)
        else:
            content_type = "text/event-stream; charset=utf-8"
            body = self._events(stream)
        start_response("200 OK", [("Content-Type", content_type), *_NO_STORE,
                                  ("X-Accel-Buffering", "no")])
        return body


def screen_words(decision: Any) -> dict[str, str]:
    """The headline and panel colour class the page shows for `decision` (ValueError if unknown)."""
    words = vocabulary.decision_words(decision)
    return {"headline_zh": words.headline_zh, "headline_en": words.headline_en,
            "panel_class": words.panel_class}


def _fault_codes(faults: Any) -> list[str]:
    """The fault codes of a published state, sorted and checked against gate.faults."""
    if isinstance(faults, (str, bytes)) or not all(isinstance(f, str) for f in faults):
        raise ValueError("a screen state's faults are a list of fault codes")
    for code in faults:
        if code not in FAULTS:
            raise ValueError(f"unknown fault code {code!r}: add it to gate.faults")
    return sorted(set(faults))


def _text(start_response: StartResponse, status: str, text: str,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(headers or [])])
    return [body]


def _json(start_response: StartResponse, status: str, obj: Any) -> list[bytes]:
    body = json.dumps(obj, ensure_ascii=False, default=str).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body))), *_NO_STORE])
    return [body]


def static_names() -> frozenset[str]:
    """The files the page is made of (package data under gate/display/static/)."""
    folder = resources.files("gate.display").joinpath("static")
    return frozenset(p.name for p in folder.iterdir() if p.is_file())


def _static(start_response: StartResponse, name: str) -> list[bytes]:
    # only the package's own files, by exact name: nothing outside static/ can be asked for
    if name not in static_names():
        return _text(start_response, "404 Not Found", f"no such file: {name}\n")
    body = resources.files("gate.display").joinpath("static", name).read_bytes()
    suffix = name[name.rfind("."):] if "." in name else ""
    start_response("200 OK", [("Content-Type", _STATIC_TYPES.get(suffix, "application/octet-stream")),
                              ("Content-Length", str(len(body))), *_NO_STORE])
    return [body]
