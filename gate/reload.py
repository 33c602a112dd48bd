"""Reloading the running kiosk's configuration between two scans (SIGHUP, `systemctl reload`).

`Reloader.request()` is all a signal handler (or the kiosk's control channel) does: it marks a
reload as wanted. The kiosk's loop calls `apply_pending(kiosk)` between frames, so never in the
middle of a scan. The file is checked first (`gate.config.problems`, the same words as
`gate config validate`); a file that would not start the gate is refused, the configuration in
force is kept, and the fault `config_rejected` is shown on the screen and logged until a good
file is loaded. A good file replaces the configuration, re-opening only the parts whose section
changed: a new venue needs no camera restart, a new offset no new thermometer.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gate.config import Config, ConfigError, load_config, problems
from gate.configfile import file_sha256
from gate.state.paths import state_paths

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ReloadResult:
    """What one reload did: `ok`, the sections that changed, the parts re-opened, the problems."""

    generation: int
    ok: bool
    changed: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what of an accepted file could not be put in force (the old part kept)
    config_sha256: str = ""
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"changed": list(self.changed), "reopened": list(self.reopened),
                                          "errors": list(self.errors), "notes": list(self.notes)}


def changed_sections(old: Config, new: Config) -> tuple[str, ...]:
    """The sections whose values differ between two configurations."""
    return tuple(s for s in new.to_dict() if old.to_dict().get(s) != new.to_dict()[s])


class Reloader:
    """Reloads `path` into a running kiosk on request; thread-safe, one reload at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._wanted = threading.Event()
        self._done = threading.Condition()
        self._requested = 0
        self.last: ReloadResult | None = None
        self.config_sha256 = file_sha256(self.path)

    # -- asking -----------------------------------------------------------------------------

    def request(self) -> int:
        """Ask for a reload at the next pause between scans; returns the generation it will have.

        Safe from a signal handler: it only sets a flag and a counter.
        """
        self._requested += 1
        self._wanted.set()
        return self._requested

    @property
    def pending(self) -> bool:
        return self._wanted.is_set()

    def wait(self, generation: int, timeout: float) -> ReloadResult | None:
        """Wait until a reload of at least `generation` has been applied (or refused)."""
        deadline = time.monotonic() + timeout
        with self._done:
            while self.last is None or self.last.generation < generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._done.wait(left)
            return self.last

    # -- doing (the kiosk's loop) -----------------------------------------------------------

    def apply_pending(self, kiosk: Any) -> ReloadResult | None:
        """If a reload was asked for, do it now (the caller is between two scans)."""
        if not self._wanted.is_set():
            return None
        self._wanted.clear()
        generation = self._requested
        with kiosk.deciding:
            result = self._reload(kiosk, generation)
        with self._done:
            self.last = result
            self._done.notify_all()
        return result

    def _reload(self, kiosk: Any, generation: int) -> ReloadResult:
        found = problems(self.path)
        new: Config | None = None
        if not found:
            try:
                new = load_config(self.path)
            except ConfigError as exc:  # changed again between the check and the load
                found = [str(exc)]
        sha = file_sha256(self.path)
        if new is None:
            for line in found:
                log.error("configuration reload refused, the one in force is kept: %s", line)
            kiosk.set_fault("config_rejected", found[0])
            kiosk.refresh_faults()
            return ReloadResult(generation, False, errors=tuple(found), config_sha256=self.config_sha256)
        old = kiosk.pipeline.config
        changed = changed_sections(old, new)
        notes: list[str] = []
        reopened = reopen_parts(kiosk, old, new, notes)
        self.config_sha256 = sha
        kiosk.clear_fault("config_rejected")
        kiosk.refresh_faults()
        log.info("configuration %s reloaded (sha256 %s): changed %s; re-opened %s", self.path, sha[:12],
                 ", ".join(changed) or "nothing", ", ".join(reopened) or "nothing")
        return ReloadResult(generation, True, changed=changed, reopened=reopened, notes=tuple(notes),
                            config_sha256=sha)


def reopen_parts(kiosk: Any, old: Config, new: Config, notes: list[str] | None = None) -> tuple[str, ...]:
    """Put `new` in force in the kiosk, re-opening only the parts whose settings changed.

    A part that cannot be re-opened keeps its old settings; why is appended to `notes`.
    """
    notes = notes if notes is not None else []
    pipeline = kiosk.pipeline
    reopened: list[str] = []
    t_old, t_new = old.temperature, new.temperature
    if (t_old.sensor, t_old.i2c_bus, t_old.i2c_address, t_old.simulated_c) != \
            (t_new.sensor, t_new.i2c_bus, t_new.i2c_address, t_new.simulated_c):
        from gate.hardware.thermometer import open_thermometer

        pipeline.thermometer.close()
        pipeline.thermometer = open_thermometer(t_new)
        reopened.append("thermometer")
    elif t_old.offset_c != t_new.offset_c and hasattr(pipeline.thermometer, "offset_c"):
        pipeline.thermometer.offset_c = t_new.offset_c  # the driver adds it to every reading
    if old.io != new.io:
        from gate.hardware.body import GateBody

        simulated = getattr(pipeline.body.pin_factory, "__class__", type(None)).__name__ == "MockFactory"
        pipeline.body.close()
        if simulated:
            from gate.hardware.body import simulated_body

            pipeline.attach_body(simulated_body(new.io))
        else:
            pipeline.attach_body(GateBody(new.io))
        reopened.append("io")
    if old.store.path != new.store.path:
        from gate.store import Store, StoreUnavailable

        if pipeline.store is not None:
            pipeline.store.close()
        pipeline.store_path = new.store.path
        try:
            pipeline.store = Store(new.store.path)
        except StoreUnavailable as exc:
            log.error("%s; every scan will be refused until it is fixed", exc)
            pipeline.store = None
        reopened.append("store")
    if old.trust.dir != new.trust.dir:
        from gate.codes.trust import TrustStore

        trust_state, _ = state_paths(new.store.path)
        pipeline.trust.close()
        try:
            pipeline.trust = TrustStore(new.trust.dir, trust_state)
        except OSError:
            pipeline.trust = TrustStore(new.trust.dir, None)
        reopened.append("trust")
    if old.camera.debounce_s != new.camera.debounce_s:
        kiosk.debouncer.debounce_s = new.camera.debounce_s
    cam_old = dataclasses.replace(old.camera, debounce_s=0.0)
    cam_new = dataclasses.replace(new.camera, debounce_s=0.0)
    if cam_old != cam_new:
        from gate.vision.sources import SourceError, open_source

        try:
            source = open_source(new.camera, on_state=kiosk.camera_state)
        except SourceError as exc:
            # the old camera keeps serving; the rest of the new file is in force
            log.error("new camera.source not opened, the old one is kept: %s", exc)
            notes.append(f"camera not changed: {exc}")
            pipeline.config = dataclasses.replace(new, camera=old.camera)
            return tuple(reopened)
        kiosk.source.close()
        kiosk.source = source
        reopened.append("camera")
    pipeline.config = new  # venue, fever threshold, skew...: read afresh by every scan
    return tuple(reopened)


def install_sighup(reloader: Reloader) -> Callable[[], None]:
    """Make SIGHUP ask `reloader` for a reload; returns a function that puts the old handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: reloader.request())
    return lambda: signal.signal(signal.SIGHUP, previous)


def attach(kiosk: Any, config: Config, config_path: str | Path) -> Callable[[], None]:
    """Everything `gate run` adds for reloading and the setup page, in one call.

    SIGHUP reloads `config_path` between scans; the local control channel (gate.control) is
    started for the setup service; the setup certificate's fingerprint goes on the idle screen.
    Returns the function that undoes it all (call it after the kiosk's loop has ended).
    """
    from gate.control import KioskControl
    from gate.tls import cert_paths, fingerprint

    reloader = Reloader(config_path)
    kiosk.reloader = reloader
    restore = install_sighup(reloader)
    try:
        kiosk.idle_extra["setup_fingerprint"] = fingerprint(cert_paths(config.device.key.parent)[0])
    except (OSError, ValueError):
        pass  # no certificate yet: the setup service makes one on its first start
    control: KioskControl | None = KioskControl(kiosk)
    try:
        control.start()
        log.info("control channel for the setup page at %s (%s)", control.url, control.file)
    except OSError as exc:
        log.warning("no control channel for the setup page (%s): the page cannot reach this kiosk", exc)
        control.stop()
        control = None

    def detach() -> None:
        restore()
        if control is not None:
            control.stop()

    return detach
