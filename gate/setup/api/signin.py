"""Signing in and out (spec/setup.md "Security"): the password, the lockout, the session cookie.

Each attempt is counted before its password is checked (gate.setup.auth.Lockout.attempt), so
guesses sent at once cannot race the count while the slow hash runs.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify, request

from gate.config import load_config
from gate.setup.api import address, error, state
from gate.setup.auth import password_matches

log = logging.getLogger("gate.setup")

COOKIE = "gate_setup"

signin = Blueprint("signin", __name__)


def _locked(seconds: float) -> Response:
    answer = error(429, f"too many wrong passwords: sign-in is locked for {int(seconds) + 1} s",
                   retry_after_s=int(seconds) + 1)
    answer.headers["Retry-After"] = str(int(seconds) + 1)
    return answer


@signin.post("/setup/api/login")
def login() -> Response:
    gate = state()
    stored = load_config(gate.config_path).setup.password_hash  # ConfigError: 500, mapped by the app
    if not stored:
        return error(401, "no setup password is set on this gate: run gate setup passwd")
    locked = gate.lockout.attempt()  # counted now, before the slow check
    if locked > 0:
        return _locked(locked)
    body = request.get_json(silent=True) or {}
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str) or not password_matches(stored, password):
        now_locked = gate.lockout.locked_for()
        log.warning("setup page: wrong password from %s%s", address(),
                    "; sign-in locked for 5 minutes" if now_locked else "")
        return error(401, "wrong password")
    gate.lockout.succeeded()
    session = gate.sessions.start(address())
    log.info("setup page: signed in from %s", address())
    answer = jsonify({"csrf_token": session.csrf_token, "idle_timeout_s": gate.sessions.idle_s})
    answer.set_cookie(COOKIE, session.token, httponly=True, secure=True, samesite="Strict", path="/")
    return answer


@signin.post("/setup/api/logout")
def logout() -> Response:
    gate = state()
    gate.sessions.end(g.session.token)
    if gate.service.on:
        gate.service.turn_off(address(), "the technician signed out")
    answer = jsonify({"ok": True})
    answer.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return answer


@signin.get("/setup/api/session")
def session() -> Response:
    gate = state()
    return jsonify({"csrf_token": g.session.csrf_token, "idle_timeout_s": gate.sessions.idle_s})
