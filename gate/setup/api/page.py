"""The page itself, its own static files and the live camera view (MJPEG, outlined codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from flask import Blueprint, Response, jsonify, redirect

from gate.control import KioskUnavailable
from gate.setup.api import error, state
from gate.setup.state import SetupState

STATIC = Path(__file__).resolve().parent.parent / "static"
MJPEG_BOUNDARY = "setupframe"
VIEW_EVERY_S = 0.2  # the live view's pace: about 5 frames a second is enough to aim
_STATIC_TYPES = {"setup.js": "text/javascript; charset=utf-8", "setup.css": "text/css; charset=utf-8"}

page = Blueprint("page", __name__)


@page.get("/")
def root() -> Response:
    return redirect("/setup/")


@page.get("/setup/")
def setup_page() -> Response:
    return Response((STATIC / "setup.html").read_bytes(), mimetype="text/html")


@page.get("/setup/static/<name>")
def static_file(name: str) -> Response:
    if name not in _STATIC_TYPES:  # only the page's own files, by exact name
        return error(404, f"no such file: {name}")
    return Response((STATIC / name).read_bytes(), content_type=_STATIC_TYPES[name])


@page.get("/setup/api/camera")
def camera_stats() -> Response:
    return jsonify(state().live.stats())


@page.get("/setup/camera.jpg")
def camera_jpeg() -> Response:
    jpeg = state().live.frame()  # KioskUnavailable: 503, mapped by the app
    if jpeg is None:
        return error(404, "no camera frame yet")
    return Response(jpeg, mimetype="image/jpeg")


@page.get("/setup/camera.mjpg")
def camera_stream() -> Response:
    gate = state()
    first = gate.live.frame()
    if not gate.streams.acquire(blocking=False):
        return error(503, "too many live views open; close one")
    return Response(_mjpeg(gate, first), mimetype=f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}")


def _mjpeg(gate: SetupState, first: bytes | None) -> Iterator[bytes]:
    """Outlined frames as an MJPEG stream, until the browser leaves, the kiosk goes or we stop."""
    def part(jpeg: bytes) -> bytes:
        return (f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                .encode() + jpeg + b"\r\n")

    try:
        if first is not None:
            yield part(first)
        while not gate.stopping.wait(VIEW_EVERY_S):
            try:
                jpeg = gate.live.frame()
            except KioskUnavailable:
                return
            if jpeg is not None:
                yield part(jpeg)
    finally:
        gate.streams.release()
