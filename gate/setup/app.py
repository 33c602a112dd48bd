"""The setup page's web app (Flask): one page and the JSON API of spec/setup.md.

Without a session only the page itself (its sign-in form and static files) and
`POST /setup/api/login` answer; every other `/setup/api/...` request gets 401, and every
state-changing request needs the session's CSRF token in `X-CSRF-Token` (or a form field
`csrf_token`), else 403. The hardware belongs to the running kiosk: tests of the outputs, the
thermometer and the camera go through its local control channel (gate.control); with no kiosk
running those answer 503 with a line saying so, and the page shows it.

The routes live in blueprints (gate.setup.api); the errors they share are mapped here, once:
the kiosk busy with a person (Busy) 409, no kiosk (KioskUnavailable) 503, a configuration file
that cannot be read (ConfigError) 500.

A signed-in technician's own actions renew service mode (gate.setup.service): every POST, and a
GET the page marks as asked for by the technician (header `X-Setup-Asked: 1`); the page's timed
polling never carries it, so it does not keep the gate out of service.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, g, request

from gate.config import ConfigError
from gate.control import Busy, KioskUnavailable
from gate.setup.api import EXTENSION, address, error
from gate.setup.api.hardware import hardware
from gate.setup.api.page import MJPEG_BOUNDARY, page
from gate.setup.api.settings import settings
from gate.setup.api.signin import COOKIE, signin
from gate.setup.state import SetupState

log = logging.getLogger("gate.setup")

ASKED_HEADER = "X-Setup-Asked"  # a GET the technician asked for (a button), not the page's polling
PUBLIC = ("/", "/setup/", "/setup/api/login")
_CSP = ("default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

__all__ = ["COOKIE", "MJPEG_BOUNDARY", "SetupState", "create_app"]


def create_app(state: SetupState) -> Flask:
    """The Flask app of the setup page for one gate."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions[EXTENSION] = state
    for blueprint in (page, signin, settings, hardware):
        app.register_blueprint(blueprint)

    # -- the one error mapping ---------------------------------------------------------------

    @app.errorhandler(Busy)
    def busy(exc: Busy) -> Response:
        return error(409, str(exc))

    @app.errorhandler(KioskUnavailable)
    def no_kiosk(exc: KioskUnavailable) -> Response:
        return error(503, str(exc), kiosk_running=False)

    @app.errorhandler(ConfigError)
    def bad_config(exc: ConfigError) -> Response:
        return error(500, str(exc))

    # -- who may ask what ------------------------------------------------------------------

    @app.before_request
    def guard() -> Response | None:
        path = request.path
        public = path in PUBLIC or path.startswith("/setup/static/")
        g.session = state.sessions.get(request.cookies.get(COOKIE))
        if public:
            return None
        if g.session is None:
            return error(401, "sign in first")
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode(), g.session.csrf_token.encode()):
                return error(403, "missing or wrong CSRF token; reload the page")
        if technicians_action() and path not in ("/setup/api/service", "/setup/api/logout"):
            state.service.touch(address())
        return None

    @app.after_request
    def headers(answer: Response) -> Response:
        answer.headers.setdefault("Cache-Control", "no-store")
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Referrer-Policy"] = "no-referrer"
        answer.headers["Content-Security-Policy"] = _CSP
        return answer

    return app


def technicians_action() -> bool:
    """True for a request the technician made (a POST, or a GET marked as asked for)."""
    if request.method not in ("GET", "HEAD"):
        return True
    return request.headers.get(ASKED_HEADER) == "1"
