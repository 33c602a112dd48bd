"""The gate's hardware, through the running kiosk (gate.control): the output tests, the
thermometer and its calibration, the kiosk's state, the doctor, and service mode.

Without service mode a test is refused (409) while a person's scan is decided or shown, and says
that service mode would allow it; in service mode the tests and the thermometer always work.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from gate.config import load_config
from gate.control import PARTS, KioskUnavailable
from gate.setup.api import address, error, state
from gate.setup.api.settings import apply
from gate.setup.doctor import doctor_report

log = logging.getLogger("gate.setup")

REFERENCE_RANGE_C = (30.0, 45.0)

hardware = Blueprint("hardware", __name__)


@hardware.post("/setup/api/test/<part>")
def test_part(part: str) -> Response:
    if part not in PARTS:
        return error(404, f"no such part: {part}; use relay, lights or buzzer")
    done = state().kiosk.test(part)  # Busy: 409, KioskUnavailable: 503, mapped by the app
    log.info("setup page: %s from %s: %s", part, address(), done)
    return jsonify({"ok": True, "done": done})


@hardware.get("/setup/api/thermometer")
def thermometer() -> Response:
    return jsonify(state().kiosk.thermometer())


@hardware.post("/setup/api/thermometer/calibrate")
def calibrate() -> Response:
    body = request.get_json(silent=True) or request.form
    try:
        reference = float(body.get("reference_c"))
    except (TypeError, ValueError):
        return error(400, "reference_c: give the reference thermometer's reading in °C")
    low, high = REFERENCE_RANGE_C
    if not low <= reference <= high:
        return error(400, f"reference_c = {reference}: a body-temperature reference is {low}-{high} °C")
    reading = state().kiosk.thermometer()
    previous = float(reading["offset_c"])
    if reading.get("object_c") is not None:
        offset = reference - float(reading["object_c"])  # the raw reading has no offset in it
    elif reading.get("temperature_c") is not None:
        offset = previous + (reference - float(reading["temperature_c"]))
    else:
        return error(409, f"the thermometer gives no reading ({reading.get('error')}); "
                     "hold the reference in front of it and try again")
    offset = round(offset, 2)
    done, errors = apply({"temperature.offset_c": offset})
    if errors:
        return jsonify({"errors": errors}), 400
    return jsonify({"reference_c": reference, "object_c": reading.get("object_c"),
                    "previous_offset_c": previous, "offset_c": offset, "applied": done["applied"]})


@hardware.get("/setup/api/kiosk")
def kiosk_status() -> Response:
    gate = state()
    try:
        status = gate.kiosk.status()
    except KioskUnavailable as exc:
        gate.service.seen({"on": False, "ended": "the kiosk stopped"})
        return jsonify({"running": False, "message": str(exc)})
    gate.service.seen(status.get("service"))
    return jsonify({"running": True, **status})


@hardware.get("/setup/api/doctor")
def doctor() -> Response:
    gate = state()
    return jsonify(doctor_report(load_config(gate.config_path), gate.kiosk))


@hardware.get("/setup/api/service")
def service_state() -> Response:
    status = state().kiosk.status()
    return jsonify(status.get("service") or {"on": False})


@hardware.post("/setup/api/service")
def service_switch() -> Response:
    body = request.get_json(silent=True)
    on = body.get("on") if isinstance(body, dict) else None
    if not isinstance(on, bool):
        return error(400, 'send {"on": true} or {"on": false}')
    gate = state()
    if on:
        return jsonify(gate.service.turn_on(address()))
    answer = gate.service.turn_off(address(), "turned off from the setup page")
    if answer is None:
        raise KioskUnavailable("no kiosk answers; its service mode ends on its own")
    return jsonify(answer)
