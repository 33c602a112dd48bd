"""`gate doctor`'s report for the setup page, taking the running kiosk into account.

The kiosk holds the camera and the thermometer while it runs, and a second opening of the camera
would fail (or steal frames from the gate). So with a kiosk running, those two checks ask the
kiosk instead (does it receive frames, what does its thermometer read); every other check is the
doctor's own (gate.health). With no kiosk running the doctor's checks run as they are.
"""

from __future__ import annotations

from typing import Any

from gate.checkresult import CheckResult
from gate.config import Config
from gate.control import Busy, KioskClient, KioskUnavailable
from gate.setup.check import check_setup


def doctor_report(cfg: Config, kiosk: KioskClient) -> dict[str, Any]:
    """{"ok", "checks": [...], "kiosk_running"} in the shape of `gate doctor --json`."""
    from gate import health as d

    try:
        status = kiosk.status()
    except KioskUnavailable:
        status = None
    checks = [*(c for c in d.CHECKS if c is not d.check_bulletin), check_setup, d.check_bulletin]  # as gate doctor
    if status is None:
        results = d.run_checks(cfg, checks)
    else:
        own = [c for c in checks if c not in (d.check_camera, d.check_thermometer)]
        results = _kiosk_checks(cfg, kiosk, status) + d.run_checks(cfg, own)
    return {"ok": not any(r.level == "FAIL" for r in results), "kiosk_running": status is not None,
            "checks": [r.to_json() for r in results]}


def _kiosk_checks(cfg: Config, kiosk: KioskClient, status: dict[str, Any]) -> list[Any]:
    results = []
    if status.get("frames"):
        results.append(CheckResult("camera", "OK", f"the kiosk receives frames from {cfg.camera.source} "
                                   f"({status['frames']} so far)", {"frames": status["frames"]}))
    else:
        results.append(CheckResult("camera", "FAIL", f"the kiosk has no frame from {cfg.camera.source} yet; "
                                   "check the cable and camera.source"))
    try:
        reading = kiosk.thermometer()
    except Busy:
        results.append(CheckResult("thermometer", "OK", "the kiosk is deciding a scan; reading skipped"))
        return results
    if reading["state"] == "sensor_fault":
        results.append(CheckResult("thermometer", "FAIL" if cfg.temperature.sensor == "mlx90614" else "WARN",
                                   f"{cfg.temperature.sensor}: {reading['error']}", reading))
    elif cfg.temperature.sensor == "simulated":
        results.append(CheckResult("thermometer", "WARN", f"simulated thermometer reading {cfg.temperature.simulated_c} °C: "
                                   "not for a gate people pass through", reading))
    else:
        results.append(CheckResult("thermometer", "OK", f"object {reading['object_c']} °C raw, ambient "
                                   f"{reading['ambient_c']} °C, offset {reading['offset_c']} °C", reading))
    return results
