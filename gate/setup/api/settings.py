"""The configuration: read without secrets, changed through the one checked writer
(gate.setup.edit), then put in force by the running kiosk between two scans."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from gate.control import Busy, KioskUnavailable
from gate.setup.api import address, state
from gate.setup.edit import field_list, public_config

settings = Blueprint("settings", __name__)


def config_answer() -> dict[str, Any]:
    """The configuration as the page shows it, with its form's fields."""
    config = public_config(state().config_path)  # ConfigError: 500, mapped by the app
    return config | {"fields": field_list(config)}


def reload_kiosk() -> dict[str, Any]:
    """Ask the kiosk to put the file in force now; without a kiosk, say it will when it starts."""
    try:
        return state().kiosk.reload()
    except (KioskUnavailable, Busy) as exc:
        return {"ok": False, "kiosk_running": False, "message": f"{exc}; the gate uses the change when it starts"}


def apply(changes: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """Write `changes` and have the kiosk apply them: (what was applied, []) or (None, errors)."""
    result = state().editor.apply(changes, address())
    if result.errors:
        return None, result.errors
    applied = reload_kiosk() if result.changed else {"ok": True, "changed": []}
    return {"changed": sorted(result.changed), "applied": applied}, []


@settings.get("/setup/api/config")
def get_config() -> Response:
    return jsonify(config_answer())


@settings.post("/setup/api/config")
def set_config() -> Response:
    body = request.get_json(silent=True)
    done, errors = apply(body.get("set") if isinstance(body, dict) else None)
    if errors:
        return jsonify({"errors": errors}), 400
    return jsonify(config_answer() | done)
