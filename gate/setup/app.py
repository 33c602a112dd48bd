"""The setup page's web app (Flask): one page and the JSON API of spec/setup.md.

Without a session only the page itself (its sign-in form and static files) and
`POST /setup/api/login` answer; every other `/setup/api/...` request gets 401, and every
state-changing request needs the session's CSRF token in `X-CSRF-Token` (or a form field
`csrf_token`), else 403. The hardware belongs to the running kiosk: tests of the outputs, the
thermometer and the camera go through its local control channel (gate.control); with no kiosk
running those answer 503 with a line saying so, and the page shows it.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from flask import Flask, Response, g, jsonify, redirect, request

from gate.config import ConfigError, load_config
from gate.control import PARTS, Busy, KioskClient, KioskUnavailable
from gate.setup.auth import Lockout, Sessions, password_matches
from gate.setup.edit import ConfigEditor, field_list, public_config
from gate.setup.liveview import LiveView

log = logging.getLogger("gate.setup")

COOKIE = "gate_setup"
STATIC = Path(__file__).with_name("static")
MJPEG_BOUNDARY = "setupframe"
VIEW_EVERY_S = 0.2  # the live view's pace: about 5 frames a second is enough to aim
MAX_STREAMS = 3
REFERENCE_RANGE_C = (30.0, 45.0)
_STATIC_TYPES = {"setup.js": "text/javascript; charset=utf-8", "setup.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@dataclass
class SetupState:
    """What the app works on: the configuration file, its helpers and the kiosk's channel."""

    config_path: Path
    state_dir: Path
    kiosk: KioskClient
    sessions: Sessions = field(default_factory=Sessions)
    lockout: Lockout | None = None
    editor: ConfigEditor | None = None
    live: LiveView | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    streams: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(MAX_STREAMS))

    def __post_init__(self) -> None:
        self.lockout = self.lockout or Lockout(self.state_dir / "lockout.json")
        self.editor = self.editor or ConfigEditor(self.config_path, self.state_dir / "changes.jsonl")
        self.live = self.live or LiveView(self.kiosk)


def create_app(state: SetupState) -> Flask:
    """The Flask app of the setup page for one gate."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    def error(status: int, message: str, **extra: Any) -> Response:
        answer = jsonify({"error": message, **extra})
        answer.status_code = status
        return answer

    def address() -> str:
        return request.remote_addr or "?"

    @app.before_request
    def guard() -> Response | None:
        path = request.path
        public = path in ("/", "/setup/", "/setup/api/login") or path.startswith("/setup/static/")
        g.session = state.sessions.get(request.cookies.get(COOKIE))
        if public:
            return None
        if g.session is None:
            return error(401, "sign in first")
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode(), g.session.csrf_token.encode()):
                return error(403, "missing or wrong CSRF token; reload the page")
        return None

    @app.after_request
    def headers(answer: Response) -> Response:
        answer.headers.setdefault("Cache-Control", "no-store")
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Referrer-Policy"] = "no-referrer"
        answer.headers["Content-Security-Policy"] = _CSP
        return answer

    # -- the page -------------------------------------------------------------------------

    @app.get("/")
    def root() -> Response:
        return redirect("/setup/")

    @app.get("/setup/")
    def page() -> Response:
        return Response((STATIC / "setup.html").read_bytes(), mimetype="text/html")

    @app.get("/setup/static/<name>")
    def static_file(name: str) -> Response:
        if name not in _STATIC_TYPES:  # only the page's own files, by exact name
            return error(404, f"no such file: {name}")
        return Response((STATIC / name).read_bytes(), content_type=_STATIC_TYPES[name])

    # -- signing in -----------------------------------------------------------------------

    @app.post("/setup/api/login")
    def login() -> Response:
        locked = state.lockout.locked_for()
        if locked > 0:
            answer = error(429, f"too many wrong passwords: sign-in is locked for {int(locked) + 1} s",
                           retry_after_s=int(locked) + 1)
            answer.headers["Retry-After"] = str(int(locked) + 1)
            return answer
        body = request.get_json(silent=True) or {}
        password = body.get("password") if isinstance(body, dict) else None
        try:
            stored = load_config(state.config_path).setup.password_hash
        except ConfigError as exc:
            return error(500, str(exc))
        if not stored:
            return error(401, "no setup password is set on this gate: run gate setup passwd")
        if not isinstance(password, str) or not password_matches(stored, password):
            started = state.lockout.failed()
            log.warning("setup page: wrong password from %s%s", address(),
                        "; sign-in locked for 5 minutes" if started else "")
            return error(401, "wrong password")
        state.lockout.succeeded()
        session = state.sessions.start(address())
        log.info("setup page: signed in from %s", address())
        answer = jsonify({"csrf_token": session.csrf_token, "idle_timeout_s": state.sessions.idle_s})
        answer.set_cookie(COOKIE, session.token, httponly=True, secure=True, samesite="Strict", path="/")
        return answer

    @app.post("/setup/api/logout")
    def logout() -> Response:
        state.sessions.end(g.session.token)
        answer = jsonify({"ok": True})
        answer.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
        return answer

    @app.get("/setup/api/session")
    def session() -> Response:
        return jsonify({"csrf_token": g.session.csrf_token, "idle_timeout_s": state.sessions.idle_s})

    # -- the configuration ----------------------------------------------------------------

    def config_answer() -> dict[str, Any]:
        config = public_config(state.config_path)
        return config | {"fields": field_list(config)}

    @app.get("/setup/api/config")
    def get_config() -> Response:
        try:
            return jsonify(config_answer())
        except ConfigError as exc:
            return error(500, str(exc))

    @app.post("/setup/api/config")
    def set_config() -> Response:
        body = request.get_json(silent=True)
        settings = body.get("set") if isinstance(body, dict) else None
        result = state.editor.apply(settings, address())
        if result.errors:
            return jsonify({"errors": result.errors}), 400
        answer = config_answer()
        answer["changed"] = sorted(result.changed)
        answer["applied"] = reload_kiosk() if result.changed else {"ok": True, "changed": []}
        return jsonify(answer)

    def reload_kiosk() -> dict[str, Any]:
        try:
            return state.kiosk.reload()
        except (KioskUnavailable, Busy) as exc:
            return {"ok": False, "kiosk_running": False, "message": f"{exc}; the gate uses the change when it starts"}

    # -- the hardware, through the kiosk -------------------------------------------------

    @app.post("/setup/api/test/<part>")
    def test_part(part: str) -> Response:
        if part not in PARTS:
            return error(404, f"no such part: {part}; use relay, lights or buzzer")
        try:
            done = state.kiosk.test(part)
        except Busy as exc:
            return error(409, str(exc))
        except KioskUnavailable as exc:
            return error(503, str(exc), kiosk_running=False)
        log.info("setup page: %s from %s: %s", part, address(), done)
        return jsonify({"ok": True, "done": done})

    @app.get("/setup/api/thermometer")
    def thermometer() -> Response:
        try:
            return jsonify(state.kiosk.thermometer())
        except Busy as exc:
            return error(409, str(exc))
        except KioskUnavailable as exc:
            return error(503, str(exc), kiosk_running=False)

    @app.post("/setup/api/thermometer/calibrate")
    def calibrate() -> Response:
        body = request.get_json(silent=True) or request.form
        try:
            reference = float(body.get("reference_c"))
        except (TypeError, ValueError):
            return error(400, "reference_c: give the reference thermometer's reading in °C")
        low, high = REFERENCE_RANGE_C
        if not low <= reference <= high:
            return error(400, f"reference_c = {reference}: a body-temperature reference is {low}-{high} °C")
        try:
            reading = state.kiosk.thermometer()
        except Busy as exc:
            return error(409, str(exc))
        except KioskUnavailable as exc:
            return error(503, str(exc), kiosk_running=False)
        previous = float(reading["offset_c"])
        if reading.get("object_c") is not None:
            offset = reference - float(reading["object_c"])  # the raw reading has no offset in it
        elif reading.get("temperature_c") is not None:
            offset = previous + (reference - float(reading["temperature_c"]))
        else:
            return error(409, f"the thermometer gives no reading ({reading.get('error')}); "
                         "hold the reference in front of it and try again")
        offset = round(offset, 2)
        result = state.editor.apply({"temperature.offset_c": offset}, address())
        if result.errors:
            return jsonify({"errors": result.errors}), 400
        applied = reload_kiosk() if result.changed else {"ok": True, "changed": []}
        return jsonify({"reference_c": reference, "object_c": reading.get("object_c"),
                        "previous_offset_c": previous, "offset_c": offset, "applied": applied})

    @app.get("/setup/api/kiosk")
    def kiosk_status() -> Response:
        try:
            return jsonify({"running": True, **state.kiosk.status()})
        except KioskUnavailable as exc:
            return jsonify({"running": False, "message": str(exc)})

    @app.get("/setup/api/doctor")
    def doctor() -> Response:
        from gate.setup.doctor import doctor_report

        try:
            cfg = load_config(state.config_path)
        except ConfigError as exc:
            return error(500, str(exc))
        return jsonify(doctor_report(cfg, state.kiosk))

    # -- the live view ------------------------------------------------------------------

    @app.get("/setup/api/camera")
    def camera_stats() -> Response:
        return jsonify(state.live.stats())

    @app.get("/setup/camera.jpg")
    def camera_jpeg() -> Response:
        try:
            jpeg = state.live.frame()
        except KioskUnavailable as exc:
            return error(503, str(exc), kiosk_running=False)
        if jpeg is None:
            return error(404, "no camera frame yet")
        return Response(jpeg, mimetype="image/jpeg")

    @app.get("/setup/camera.mjpg")
    def camera_stream() -> Response:
        try:
            first = state.live.frame()
        except KioskUnavailable as exc:
            return error(503, str(exc), kiosk_running=False)
        if not state.streams.acquire(blocking=False):
            return error(503, "too many live views open; close one")
        return Response(_mjpeg(state, first), mimetype=f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}")

    return app


def _mjpeg(state: SetupState, first: bytes | None) -> Iterator[bytes]:
    """Outlined frames as an MJPEG stream, until the browser leaves, the kiosk goes or we stop."""
    def part(jpeg: bytes) -> bytes:
        return (f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                .encode() + jpeg + b"\r\n")

    try:
        if first is not None:
            yield part(first)
        while not state.stopping.wait(VIEW_EVERY_S):
            try:
                jpeg = state.live.frame()
            except KioskUnavailable:
                return
            if jpeg is not None:
                yield part(jpeg)
    finally:
        state.streams.release()
