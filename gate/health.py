"""Is this gate fit to run, and which faults hold now: the checks of `gate doctor` as a library.

Each check is a function of the configuration returning `CheckResult`s (gate.checkresult) (name, level, message,
details); `CHECKS` lists them in the order they run and `run_checks` runs them all. Levels: OK,
WARN (works, but look at it), FAIL (the gate will not work properly). The checks only read: a
record store, trust cache or time floor that does not exist is not created (SQLite files are
opened with mode=ro URIs where they are only looked at).

Which faults hold is not worked out here: gate.state.faults_now does that once for everyone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from gate.checkresult import LEVELS, CheckResult
from gate.clock import TimeFloor
from gate.codes.trust import CORRUPT_SUFFIX, TrustError, TrustStore
from gate.config import Config
from gate.devicesig import DeviceKeyError, load_device_key
from gate.directives.check import bulletin_results
from gate.faults import fault
from gate.hardware.speaker import AplayPlayer, Player
from gate.hardware.thermometer import Thermometer, open_thermometer
from gate.policy import is_body_temperature
from gate.state.faults_now import list_faults
from gate.state.paths import state_paths
from gate.state.syncmeta import sync_health
from gate.voice import PromptCache, every_line, prompt_folder

CAMERA_WAIT_S = 5.0
STORE_MIN_FREE_MB = 200
QUEUE_WARN_H = 72

# Human skin is about 0.98; the sensor leaves the factory at 1.0. Far from both, someone
# has reprogrammed EEPROM 0x24 and every reading is off.
EMISSIVITY_MIN = 0.95
# The MLX90614's medical accuracy (±0.2 °C) holds for sensor ambients within about 16-40 °C;
# a colder or hotter box still reads, less accurately.
AMBIENT_RANGE_C = (10.0, 40.0)


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
    if reading.state == "no_body" or (reading.temperature_c is not None
                                      and not is_body_temperature(reading.temperature_c)):
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


@contextlib.contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV's own warning lines (a missing /dev/video*, a backend it tried) kept off the terminal:
    the check says what matters in its one line."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # for an OpenCV not imported yet
    os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
    import cv2

    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:  # an OpenCV built without its logging API: the environment must do
        yield
        return
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_SILENT)
    # The source's own reconnect lines too: the check's one line says what happened.
    vision_log = logging.getLogger("gate.vision")
    vision_level = vision_log.level
    vision_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logging_api.setLogLevel(previous)
        vision_log.setLevel(vision_level)


def check_camera(cfg: Config) -> list[CheckResult]:
    """The camera (or footage) delivers a frame within a few seconds."""
    with opencv_quiet():
        return _check_camera(cfg)


def _check_camera(cfg: Config) -> list[CheckResult]:
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


def _state_paths(cfg: Config) -> tuple[Path, Path]:
    return state_paths(cfg.store.path)


def _trust(cfg: Config) -> TrustStore:
    """The gate's trust store as the kiosk would open it; in memory when no cache exists yet."""
    trust_state, _ = _state_paths(cfg)
    return TrustStore(cfg.trust.dir, trust_state if trust_state.is_file() else None)


def check_trust(cfg: Config) -> list[CheckResult]:
    """A trust list and a status list in force, signed by an anchor, and how old they are."""
    try:
        trust = _trust(cfg)
    except (TrustError, OSError, ValueError, sqlite3.Error) as exc:
        return [CheckResult("trust", "FAIL", f"{cfg.trust.dir}: {exc}")]
    try:
        now = time.time()
        # Which faults hold is gate.state's to say (as the screen and the heartbeat say it); the
        # doctor adds what to do about them.
        holding = set(list_faults(trust, _floor(cfg), now, cfg))
        results = [CheckResult("trust.problem", "WARN", problem) for problem in trust.load_errors]
        trust_state, _ = _state_paths(cfg)
        aside = trust_state.with_name(trust_state.name + CORRUPT_SUFFIX)
        if "trust_cache_rebuilt" in holding:
            results.append(CheckResult("trust.cache", "WARN", f"{fault('trust_cache_rebuilt').en}: {trust.cache_rebuilt}"))
        elif aside.exists():
            results.append(CheckResult("trust.cache", "WARN", f"{fault('trust_cache_rebuilt').en}: the damaged copy "
                                       f"is {aside}; delete it once looked at"))
        results += _status_results(trust, cfg, now, holding)
        tl = trust.trust_list
        if tl is None or "trust_list_missing" in holding:
            return results + [CheckResult("trust", "FAIL", "no trust list in force: every code will be unknown_key; "
                                          "copy a signed trustlist.json into the trust folder or run gate sync")]
        age_d = (now - tl.issued_at) / 86400
        details = {"version": tl.version, "age_days": round(age_d, 1), "keys": sum(map(len, tl.keys.values())),
                   "status_list_version": trust.status_version}
        if "trust_list_stale" in holding:
            return results + [CheckResult("trust", "WARN", f"trust list v{tl.version} expired {age_d:.0f} days after "
                                          "issue: still in force, but fetch a new one (gate sync)", details)]
        return results + [CheckResult("trust", "OK", f"trust list v{tl.version}, {age_d:.1f} days old", details)]
    finally:
        trust.close()


def _status_results(trust: TrustStore, cfg: Config, now: float, holding: set[str]) -> list[CheckResult]:
    """The status list: missing is a FAIL (nobody is admitted on the code alone), stale a WARN."""
    if "status_list_missing" in holding:
        return [CheckResult("trust.status_list", "FAIL", f"{fault('status_list_missing').en}: no good status list "
                            "was ever applied, so every allow becomes manual; copy a signed statuslist.json "
                            "into the trust folder or run gate sync")]
    age_h = (now - trust.status_issued_at) / 3600
    details = {"version": trust.status_version, "age_hours": round(age_h, 1)}
    if "status_list_stale" in holding:
        return [CheckResult("trust.status_list", "WARN", f"{fault('status_list_stale').en}: v{trust.status_version} "
                            f"is {age_h:.0f} h old (trust.status_max_age_h = {cfg.trust.status_max_age_h}); "
                            "fetch a new one (gate sync)", details)]
    return [CheckResult("trust.status_list", "OK", f"status list v{trust.status_version}, {age_h:.1f} h old", details)]


def check_device_key(cfg: Config) -> list[CheckResult]:
    """The device key that signs uploads is there and is an Ed25519 private key."""
    try:
        load_device_key(cfg.device.key)
    except DeviceKeyError as exc:
        return [CheckResult("device_key", "FAIL", f"{fault('device_key_missing').en}: {exc}")]
    return [CheckResult("device_key", "OK", f"{cfg.device.key} is an Ed25519 device key")]


def _floor(cfg: Config) -> TimeFloor:
    """The kiosk's time floor, read (never made) from beside the store."""
    _, floor_path = _state_paths(cfg)
    return TimeFloor(floor_path if floor_path.exists() else None)


def check_clock(cfg: Config) -> list[CheckResult]:
    """The system clock is not below the time floor (health-code.md §5)."""
    floor = _floor(cfg)
    now = floor.now()
    if not now.trusted:
        return [CheckResult("clock", "FAIL" if cfg.venue.strict_clock else "WARN",
                            f"system clock is {(floor.floor - time.time()) / 3600:.1f} h behind the time floor: "
                            "codes are checked against the floor; set the clock (NTP, RTC battery)")]
    return [CheckResult("clock", "OK", "system clock is trusted (not below the time floor)")]


def check_store(cfg: Config) -> list[CheckResult]:
    """The record store is sound (SQLite's full integrity_check, read-only), its kept faults (damaged and
    recovered, missing), whether it opens for writing, its free space, and what waits in it."""
    path = cfg.store.path
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), path.parent)
        if os.access(folder, os.W_OK | os.X_OK):
            return [CheckResult("store", "WARN", f"{path} does not exist yet: the gate makes it at its first start")]
        return [CheckResult("store", "FAIL", f"{path} does not exist and {folder} is not writable: "
                            "every scan will be refused (store_unavailable)")]
    from gate.store import check_integrity, kept_faults

    sound, line = check_integrity(path)
    if not sound:
        return [CheckResult("store", "FAIL", f"{line} (integrity_check): the gate moves it aside and recovers "
                            "its undelivered records when it next opens it")]
    kept = [CheckResult(f"store.{code}", "FAIL" if code == "store_missing" else "WARN",
                        f"{fault(code).en}: {details}", details) for code, details in kept_faults(path).items()]
    return kept + _store_contents(cfg)


def _store_contents(cfg: Config) -> list[CheckResult]:
    from gate.record import parse_iso_utc
    from gate.store import Store, StoreUnavailable

    try:
        store = Store(cfg.store.path)
    except StoreUnavailable as exc:
        return [CheckResult("store", "FAIL", f"{exc}: every scan will be refused (store_unavailable)")]
    with store:
        free_mb = store.free_bytes() / 1e6
        results = [CheckResult("store", "OK" if free_mb >= STORE_MIN_FREE_MB else "WARN",
                               f"{cfg.store.path} sound and writable, {free_mb:.0f} MB free", {"free_mb": round(free_mb)})]
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


def check_speaker(cfg: Config, player: Player | None = None) -> list[CheckResult]:
    """The voice: where `[voice]` is on, a sound card to play on and espeak-ng to make prompts."""
    voice = cfg.voice
    if not voice.enabled or voice.volume == 0:
        return [CheckResult("speaker", "OK", "voice prompts off ([voice] enabled = false or volume = 0)")]
    prompts = PromptCache(prompt_folder(cfg.store.path), voice.volume)
    # the player's own check: a probe, so nothing is logged (the kiosk's speaker says it once)
    problem = (player or AplayPlayer(prompts)).problem()
    if problem is not None:
        line = fault(problem.fault)
        return [CheckResult("speaker", "WARN", f"{line.en} ({problem}); lights and screen still "
                            "say each decision", {"fault": line.code})]
    made = sum(prompts.path(line).is_file() for line in every_line(voice))
    return [CheckResult("speaker", "OK", f"sound card found; prompts in {voice.language}, volume {voice.volume}, "
                        f"{made} of {len(every_line(voice))} made in {prompts.folder}", {"prompts_made": made})]


def check_bulletin(cfg: Config) -> list[CheckResult]:
    """The bulletin in force (version, since when, its note), the one held, kept files refused (WARN)."""
    try:
        trust = _trust(cfg)
    except (TrustError, OSError, ValueError, sqlite3.Error) as exc:
        return [CheckResult("bulletin", "WARN", f"bulletins not checked: no trust list to check them against ({exc})")]
    try:
        return bulletin_results(cfg, trust.trust_list, state_dir=_state_paths(cfg)[0].parent)
    finally:
        trust.close()


CHECKS: list[Check] = [check_camera, check_thermometer, check_clock, check_trust, check_device_key, check_store,
                       check_collector, check_speaker, check_bulletin]


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

