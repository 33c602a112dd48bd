"""`gate doctor --config FILE [--json]`: is this gate fit to run? One line per check.

Each check is a function of the configuration returning `CheckResult`s (name, level, message,
details); `CHECKS` lists them in the order they run. Levels: OK, WARN (works, but look at it),
FAIL (the gate will not work properly). Exit status 0 without FAIL, 1 with any FAIL, 2 for a
configuration that cannot be loaded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from gate.cli.errors import load_config_or_fail
from gate.clock import TimeFloor
from gate.codes.trust import TrustError, TrustStore
from gate.config import Config
from gate.hardware.thermometer import Thermometer, open_thermometer
from gate.pipeline import state_paths

DEFAULT_CONFIG = "/etc/gate/gate.toml"
CAMERA_WAIT_S = 5.0
STORE_MIN_FREE_MB = 200
QUEUE_WARN_H = 72
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


def check_camera(cfg: Config) -> list[CheckResult]:
    """The camera (or footage) delivers a frame within a few seconds."""
    from gate.vision.sources import SourceError, SourceState, open_source

    try:
        source = open_source(cfg.camera)
    except SourceError as exc:
        return [CheckResult("camera", "FAIL", str(exc))]
    try:
        deadline = time.monotonic() + CAMERA_WAIT_S
        while time.monotonic() < deadline and source.state not in (SourceState.ENDED, SourceState.CLOSED):
            frame = source.read()
            if frame is not None:
                h, w = frame.image.shape[:2]
                return [CheckResult("camera", "OK", f"{source.name} delivers {w}x{h} frames", {"source": source.name})]
        detail = source.last_error or source.state.value
    finally:
        source.close()
    return [CheckResult("camera", "FAIL", f"{cfg.camera.source}: no frame in {CAMERA_WAIT_S:.0f} s ({detail}); "
                        "check the cable and camera.source")]


def _trust(cfg: Config) -> TrustStore:
    trust_state, _ = state_paths(cfg.store.path)
    return TrustStore(cfg.trust.dir, trust_state if trust_state.parent.is_dir() else None)


def check_trust(cfg: Config) -> list[CheckResult]:
    """A trust list in force, signed by an anchor, and how old it is."""
    try:
        trust = _trust(cfg)
    except (TrustError, OSError, ValueError) as exc:
        return [CheckResult("trust", "FAIL", f"{cfg.trust.dir}: {exc}")]
    try:
        results = [CheckResult("trust.problem", "WARN", problem) for problem in trust.load_errors]
        tl = trust.trust_list
        if tl is None:
            return results + [CheckResult("trust", "FAIL", "no trust list in force: every code will be unknown_key; "
                                          "copy a signed trustlist.json into the trust folder or run gate sync")]
        age_d = (time.time() - tl.issued_at) / 86400
        details = {"version": tl.version, "age_days": round(age_d, 1), "keys": sum(map(len, tl.keys.values())),
                   "status_list_version": trust.status_version}
        if tl.is_stale(time.time()):
            return results + [CheckResult("trust", "WARN", f"trust list v{tl.version} expired {age_d:.0f} days after "
                                          "issue: still in force, but fetch a new one (gate sync)", details)]
        return results + [CheckResult("trust", "OK", f"trust list v{tl.version}, {age_d:.1f} days old, "
                                      f"status list v{trust.status_version}", details)]
    finally:
        trust.close()


def check_clock(cfg: Config) -> list[CheckResult]:
    """The system clock is not below the time floor (health-code.md §5)."""
    _, floor_path = state_paths(cfg.store.path)
    floor = TimeFloor(floor_path if floor_path.exists() else None)
    now = floor.now()
    if not now.trusted:
        return [CheckResult("clock", "FAIL" if cfg.venue.strict_clock else "WARN",
                            f"system clock is {(floor.floor - time.time()) / 3600:.1f} h behind the time floor: "
                            "codes are checked against the floor; set the clock (NTP, RTC battery)")]
    return [CheckResult("clock", "OK", "system clock is trusted (not below the time floor)")]


def check_store(cfg: Config) -> list[CheckResult]:
    """The record store opens for writing, has free space, and what waits in its queue."""
    from gate.record import parse_iso_utc
    from gate.store import Store, StoreUnavailable
    from gate.sync import sync_health

    try:
        store = Store(cfg.store.path)
    except StoreUnavailable as exc:
        return [CheckResult("store", "FAIL", f"{exc}: every scan will be refused (store_unavailable)")]
    with store:
        free_mb = store.free_bytes() / 1e6
        results = [CheckResult("store", "OK" if free_mb >= STORE_MIN_FREE_MB else "WARN",
                               f"{cfg.store.path} writable, {free_mb:.0f} MB free", {"free_mb": round(free_mb)})]
        pruned = store.free_space_pruned()
        if pruned:
            results.append(CheckResult("store.pruned", "WARN", f"the disk filled: {pruned.get('deleted')} delivered "
                                       "records were deleted early to make room", pruned))
        depth = store.queue_depth()
        oldest = store.oldest_pending_scanned_at()
        age_h = (time.time() - parse_iso_utc(oldest)) / 3600 if oldest else 0.0
        level = "OK" if age_h < QUEUE_WARN_H else "WARN"
        results.append(CheckResult("queue", level, f"{depth} records waiting for upload"
                                   + (f", oldest {age_h:.1f} h old" if oldest else ""),
                                   {"depth": depth, "oldest": oldest}))
        health = sync_health(store)
        problem = health["problem"]
        if problem:
            results.append(CheckResult("collector.auth", "FAIL", f"the collector refused this gate "
                                       f"({problem.get('status')}: {problem.get('error')}); uploads are stopped: "
                                       "register the device key (gate collector add-device)", problem))
        if health["failures"]:
            results.append(CheckResult("sync", "WARN", f"the last {health['failures']} sync rounds failed "
                                       f"({health['last_error']}); records stay queued and are retried",
                                       {"failures": health["failures"], "last_error": health["last_error"],
                                        "next_attempt_at": health["next_attempt_at"]}))
        if health["last_success"]:
            results.append(CheckResult("sync.last", "OK", f"last good sync round {(time.time() - health['last_success']) / 3600:.1f} h ago",
                                       {"last_success": health["last_success"]}))
    return results


def check_collector(cfg: Config) -> list[CheckResult]:
    """The collector answers (when one is configured)."""
    import requests

    if not cfg.collector.url:
        return [CheckResult("collector", "WARN", "no collector.url: records stay queued on this gate")]
    url = cfg.collector.url.rstrip("/") + "/healthz"
    try:
        answer = requests.get(url, timeout=min(5.0, cfg.collector.timeout_s))
    except requests.RequestException as exc:
        return [CheckResult("collector", "WARN", f"{cfg.collector.url} not reachable ({type(exc).__name__}): "
                            "the gate keeps working offline")]
    if answer.status_code != 200:
        return [CheckResult("collector", "WARN", f"{url} answered {answer.status_code}")]
    return [CheckResult("collector", "OK", f"{cfg.collector.url} reachable")]


def check_setup(cfg: Config) -> list[CheckResult]:
    """The setup page: on or off, its password, its certificate's fingerprint (gate.setup.check)."""
    from gate.setup.check import check_setup as check

    return check(cfg)


CHECKS: list[Check] = [check_camera, check_thermometer, check_clock, check_trust, check_store, check_collector,
                       check_setup]


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
    """Health check: camera, thermometer, clock, trust list, store and queue, collector."""
    cfg = load_config_or_fail(config_path)
    results = run_checks(cfg)
    failed = any(r.level == "FAIL" for r in results)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [r.to_json() for r in results]}, ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r.level:<4}  {r.name}: {r.message}")
    click.get_current_context().exit(1 if failed else 0)
