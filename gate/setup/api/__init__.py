"""The setup page's Flask blueprints (spec/setup.md), one job each:

- `page`: the page itself, its static files and the live camera view;
- `signin`: signing in and out, the session;
- `settings`: the configuration, read and changed;
- `hardware`: through the running kiosk: output tests, thermometer and calibration, the kiosk's
  state, the doctor, service mode.

Errors they share are raised, not answered: the app maps them once (gate.setup.app).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from gate.setup.state import SetupState

EXTENSION = "gate.setup"


def state() -> SetupState:
    """The gate's setup state of the app serving this request."""
    return current_app.extensions[EXTENSION]


def error(status: int, message: str, **extra: Any) -> Response:
    """A JSON error answer: {"error": "one line", ...extra}."""
    answer = jsonify({"error": message, **extra})
    answer.status_code = status
    return answer


def address() -> str:
    """Where the request came from (for the logs and the change log)."""
    return request.remote_addr or "?"
