"""`gate demo`: the kiosk on bundled footage of a residential gate, with simulated hardware.

The demo gate's trust folder is made fresh for each run (`gate.demo.fresh_trust_folder`: the demo
lists issued now), its store and state live in a temporary folder, and every decision is checked
against the footage's script. With `--console` the gate then stays up, idle and heartbeating, and
a local collector serves the console (`gate.cli.demo_console`) until Ctrl-C; the screen (without
`--headless`) stays connected all the while.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import cv2

from gate.cli import demo_console
from gate.cli.errors import fail, load_config_or_fail
from gate.cli.run_cmd import start_appliance
from gate.demo import footage_plan, fresh_trust_folder, load_script, make_footage
from gate.footage import plan_for
from gate.pipeline import ScanOutcome
from gate.vision.sources import Frame
from gate.vocabulary import decision_words

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "firmware_config" / "demo.toml"
KEYS = ROOT / "keys" / "demo"

log = logging.getLogger("gate.demo")


FOOTAGE_MAX_AGE_S = 12 * 3600  # older footage is made again: its scans would be of another day


def footage_for(config_path: Path, video: Path, keys_dir: Path) -> Path:
    """The demo footage, made on first use (a few seconds) and kept under var/demo/; made again
    when it is more than `FOOTAGE_MAX_AGE_S` old (the gate lives on the footage's timeline) or was
    made from another plan (another cast of people, other demo keys)."""
    script = load_script(video) if video.is_file() else None
    if (script is not None and time.time() - float(script.get("start_epoch", 0)) <= FOOTAGE_MAX_AGE_S
            and script.get("plan") == footage_plan(keys_dir)):
        return video
    click.echo(f"making the demo footage in {video.parent} ...", err=True)
    return make_footage(video.parent, keys_dir)


def lists_issued_at(script: dict[str, Any]) -> int:
    """When the demo's lists are issued: at the start of the footage's timeline (the demo gate's
    clock), a minute before its first frame, so that the gate's time is never below them."""
    return int(min(time.time(), float(script.get("start_epoch", time.time())))) - 60


@contextmanager
def stopped_by_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C (SIGINT) and SIGTERM set, for as long as the demo runs."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option("--headless", is_flag=True, help="No screen: print each decision as it happens.")
@click.option("--seconds", type=click.FloatRange(min=0.1), default=None, help="Stop after this much of the footage.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--console", "with_console", is_flag=True,
              help="Then sync the records to a local collector and serve its console; the gate "
                   "stays up, idle and heartbeating, until Ctrl-C.")
@click.option("--console-port", type=click.IntRange(0, 65535), default=8081, show_default=True)
def demo(headless: bool, seconds: float | None, port: int, with_console: bool, console_port: int) -> None:
    """Run the kiosk on the demo footage with simulated hardware, and check every decision."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not DEMO_CONFIG.is_file():
        fail(f"{DEMO_CONFIG} is missing: run gate demo from a checkout of the project.")
    config = load_config_or_fail(DEMO_CONFIG)
    video = footage_for(DEMO_CONFIG, Path(config.camera.source), KEYS)
    script = load_script(video) or {"people": []}
    seen: list[tuple[dict, ScanOutcome]] = []

    def person_at(t: float) -> dict:
        return next((p for p in script["people"] if p["from"] <= t <= p["to"]), {"label": "(nobody in the script)", "expect": "no scan"})

    def show(outcome: ScanOutcome) -> None:
        t = appliance.kiosk.footage_clock.t if appliance.kiosk.footage_clock else 0.0
        person = person_at(t)
        seen.append((person, outcome))
        decision = outcome.decision.decision
        temp = "  --  " if outcome.reading.temperature_c is None else f"{outcome.reading.temperature_c:4.1f}°C"
        mark = "" if person["expect"] == decision else f"   (expected {person['expect']})"
        click.echo(f"{t:5.1f}s  " + click.style(f"{decision.upper():8}", fg=decision_words(decision).signal.light, bold=True)
                   + f" {person['label']:<29} {temp}  {outcome.decision.message_en}{mark}")
        click.echo(f"{'':16}{outcome.decision.message_zh}   [{', '.join(outcome.decision.reasons)}]")

    ok = True
    with tempfile.TemporaryDirectory(prefix="gate-demo-") as tmp, stopped_by_signals() as stop:
        folder = Path(tmp)
        trust_dir = fresh_trust_folder(folder / "trust", KEYS, lists_issued_at(script))
        config = dataclasses.replace(
            config, camera=dataclasses.replace(config.camera, source=str(video)),
            trust=dataclasses.replace(config.trust, dir=trust_dir))
        db_path = folder / "state" / "scans.db"
        appliance = start_appliance(config, headless=headless, simulate_io=True, on_outcome=show,
                                    display_port=port, db_path=db_path, footage=plan_for(config))
        control = None
        try:
            appliance.kiosk.until_t = seconds
            if with_console:
                control = _control_channel(appliance.kiosk, folder / "run")
            if appliance.display is not None:
                appliance.kiosk.realtime = True
                click.echo(f"screen: {appliance.display.url}")
                if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
                    webbrowser.open(appliance.display.url)
            click.echo(f"gate {config.device.id}, {config.venue.type} venue {config.venue.id}; footage {video.name}\n")
            appliance.kiosk.run(stop)
            played = seconds
            if stop.is_set():  # Ctrl-C during the footage: judge what was played
                clock = appliance.kiosk.footage_clock
                played = clock.t if clock is not None else 0.0
            from gate.store import Store

            with Store(db_path) as store:
                queued = store.queue_depth()
            ok = report(appliance, seen, script, played, queued)
            if with_console and not stop.is_set():
                demo_console.serve(db_path, folder, config, console_port, stop=stop,
                                   kiosk_folder=folder / "run", tick=EmptyGate(appliance.kiosk, video))
        finally:
            if control is not None:
                control.stop()
            appliance.close()
    if not ok:
        sys.exit(1)


class EmptyGate:
    """The demo's camera after its footage: the footage's opening scene (the gate with nobody at
    it), while the gate's clock runs on from the footage's end. Each call is one turn of the idle
    kiosk: that frame decided like any other (nothing in it to scan), the screen's picture kept
    fresh, the kiosk's periodic work done; without a scene, the periodic work alone."""

    def __init__(self, kiosk: Any, video: Path) -> None:
        self.kiosk = kiosk
        capture = cv2.VideoCapture(str(video))
        try:
            ok, image = capture.read()
        finally:
            capture.release()
        self.image = image if ok else None
        clock = kiosk.footage_clock
        self.end_t = clock.t if clock is not None else 0.0
        self.since = time.monotonic()
        self.index = kiosk.stats.frames

    def __call__(self) -> None:
        t = self.end_t + (time.monotonic() - self.since)
        if self.kiosk.footage_clock is not None:
            self.kiosk.footage_clock.t = t
        if self.image is None:
            self.kiosk.tick(processing=False)
            return
        self.index += 1
        self.kiosk.handle_frame(Frame(self.image, t, self.index), time.monotonic())


def _control_channel(kiosk: Any, folder: Path) -> Any:
    """The kiosk's control channel in the demo's own runtime folder (never /run/gate), so that the
    demo gate's sync asks this kiosk for its faults as `gate sync` asks a kiosk in service."""
    from gate.control import KioskControl

    control = KioskControl(kiosk, folder=folder)
    try:
        return control.start()
    except OSError as exc:
        log.warning("no control channel for the demo kiosk (%s): its sync reports it not running", exc)
        control.stop()
        return None


def report(appliance: Any, seen: list[tuple[dict, ScanOutcome]], script: dict, seconds: float | None,
           queued: int | None) -> bool:
    """Print the demo's summary; False when a person did not get the decision the rules require."""
    stats = appliance.kiosk.stats.summary()
    wrong = [(p, o) for p, o in seen if p["expect"] != o.decision.decision]
    expected = [p for p in script["people"] if seconds is None or p["from"] <= seconds]
    click.echo("\nsummary: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["decisions"].items())))
    click.echo(f"  {stats['frames']} frames, {stats['scans']} scans, {queued} records queued for upload")
    if "frame_to_decision_ms" in stats:
        f2d = stats["frame_to_decision_ms"]
        click.echo(f"  frame to decision: median {f2d['median']} ms, p95 {f2d['p95']} ms")
    if wrong or len(seen) != len(expected):
        click.echo(f"  MISMATCH: {len(seen)} scans for {len(expected)} people; "
                   + json.dumps([(p['label'], o.decision.decision) for p, o in wrong], ensure_ascii=False), err=True)
        return False
    click.echo("  every person got the decision the rules require")
    return True
