"""`gate doctor --config FILE [--json]`: is this gate fit to run? One line per check.

Each check is a function of the configuration returning `CheckResult`s (name, level, message,
details); `CHECKS` lists them in the order they run. Levels: OK, WARN (works, but look at it),
FAIL (the gate will not work properly). Exit status 0 without FAIL, 1 with any FAIL, 2 for a
configuration that cannot be loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from gate.cli.errors import fail
from gate.config import Config, ConfigError, load_config
from gate.hardware.thermometer import Thermometer, open_thermometer

DEFAULT_CONFIG = "/etc/gate/gate.toml"
LEVELS: tuple[str, ...] = ("OK", "WARN", "FAIL")

# Human skin is about 0.98; the sensor leaves the factory at 1.0. Far from both, someone
# has reprogrammed EEPROM 0x24 and every reading is off.
EMISSIVITY_MIN = 0.95
# The MLX90614's medical accuracy (±0.2 °C) holds for sensor ambients within about 16-40 °C;
# a colder or hotter box still reads, less accurately.
AMBIENT_RANGE_C = (10.0, 40.0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    level: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "message": self.message, **self.details}


Check = Callable[[Config], list[CheckResult]]


def check_thermometer(cfg: Config, thermometer: Thermometer | None = None) -> list[CheckResult]:
    """Read the thermometer once: raw object, ambient and emissivity for the technician."""
    t = cfg.temperature
    if thermometer is None:
        thermometer = open_thermometer(t)
    try:
        reading = thermometer.read()
        emissivity = thermometer.emissivity()
    finally:
        thermometer.close()
    details = {
        "sensor": t.sensor,
        "temperature_c": reading.temperature_c,
        "object_raw_c": reading.object_raw_c,
        "ambient_c": reading.ambient_c,
        "emissivity": emissivity,
        "state": reading.state,
    }
    if t.sensor == "none":
        if t.required:
            return [CheckResult("thermometer", "WARN", "no thermometer fitted and temperature.required = true: "
                                "every scan will need the attendant (manual)", details)]
        return [CheckResult("thermometer", "OK", "no thermometer fitted (temperature not required)", details)]
    if t.sensor == "simulated":
        return [CheckResult("thermometer", "WARN", f"simulated thermometer reading {t.simulated_c} °C: "
                            "not for a gate people pass through", details)]
    where = f"MLX90614 at 0x{t.i2c_address:02X} on I2C bus {t.i2c_bus}"
    if reading.state == "sensor_fault":
        return [CheckResult("thermometer", "FAIL", f"{where}: {reading.error}", details)]
    seen = (f"object {reading.object_raw_c:.2f} °C raw"
            + ("" if reading.temperature_c is None else f", {reading.temperature_c:.2f} °C with offset")
            + f", ambient {reading.ambient_c:.2f} °C"
            + ("" if emissivity is None else f", emissivity {emissivity:.3f}"))
    if reading.state == "no_body":
        seen += " (no body in front of the sensor)"
    results = [CheckResult("thermometer", "OK", f"{where}: {seen}", details)]
    if emissivity is None:
        results.append(CheckResult("thermometer.emissivity", "WARN", "could not read emissivity from EEPROM 0x24", {}))
    elif emissivity < EMISSIVITY_MIN:
        results.append(CheckResult("thermometer.emissivity", "WARN",
                                   f"emissivity is {emissivity:.3f} (factory 1.000, skin about 0.98): "
                                   "readings will be off; reprogram EEPROM 0x24", {"emissivity": emissivity}))
    low, high = AMBIENT_RANGE_C
    if reading.ambient_c is not None and not low <= reading.ambient_c <= high:
        results.append(CheckResult("thermometer.ambient", "WARN",
                                   f"sensor ambient {reading.ambient_c:.1f} °C is outside {low:.0f}-{high:.0f} °C: "
                                   "readings are less accurate; shade or shelter the sensor",
                                   {"ambient_c": reading.ambient_c}))
    return results


CHECKS: list[Check] = [check_thermometer]


def run_checks(cfg: Config, checks: list[Check] | None = None) -> list[CheckResult]:
    """Run every check; a check that crashes is itself a FAIL, and the others still run."""
    results: list[CheckResult] = []
    for check in CHECKS if checks is None else checks:
        name = check.__name__.removeprefix("check_")
        try:
            results.extend(check(cfg))
        except Exception as exc:  # a doctor must report every problem, not stop at the first
            results.append(CheckResult(name, "FAIL", f"check crashed: {type(exc).__name__}: {exc}"))
    return results


@click.command("doctor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every check's result.")
def doctor(config_path: Path, as_json: bool) -> None:
    """Health check of this gate: thermometer (camera, clock, trust list, queue to come)."""
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc))
    results = run_checks(cfg)
    failed = any(r.level == "FAIL" for r in results)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [r.to_json() for r in results]}, ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r.level:<4}  {r.name}: {r.message}")
    click.get_current_context().exit(1 if failed else 0)
