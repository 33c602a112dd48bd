"""`gate demo`: the kiosk on bundled footage of a residential gate, with simulated hardware."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

import click

from gate.cli import demo_console
from gate.cli.errors import fail, load_config_or_fail
from gate.cli.run_cmd import run_until_stopped, start_appliance
from gate.demo import load_script, make_footage
from gate.footage import plan_for
from gate.pipeline import ScanOutcome
from gate.vocabulary import decision_words

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "firmware_config" / "demo.toml"



def footage_for(config_path: Path, video: Path, keys_dir: Path) -> Path:
    """The demo footage, made on first use (a few seconds) and kept under var/demo/."""
    if video.is_file() and load_script(video) is not None:
        return video
    click.echo(f"making the demo footage in {video.parent} (once) ...", err=True)
    return make_footage(video.parent, keys_dir)


@click.command()
@click.option("--headless", is_flag=True, help="No screen: print each decision as it happens.")
@click.option("--seconds", type=click.FloatRange(min=0.1), default=None, help="Stop after this much of the footage.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--console", "with_console", is_flag=True,
              help="Then sync the records to a local collector and serve its console.")
@click.option("--console-port", type=click.IntRange(0, 65535), default=8081, show_default=True)
def demo(headless: bool, seconds: float | None, port: int, with_console: bool, console_port: int) -> None:
    """Run the kiosk on the demo footage with simulated hardware, and check every decision."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not DEMO_CONFIG.is_file():
        fail(f"{DEMO_CONFIG} is missing: run gate demo from a checkout of the project.")
    config = load_config_or_fail(DEMO_CONFIG)
    video = footage_for(DEMO_CONFIG, Path(config.camera.source), ROOT / "keys" / "demo")
    script = load_script(video) or {"people": []}
    config = dataclasses.replace(config, camera=dataclasses.replace(config.camera, source=str(video)))
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

    with tempfile.TemporaryDirectory(prefix="gate-demo-") as tmp:
        appliance = start_appliance(config, headless=headless, simulate_io=True, on_outcome=show,
                                    display_port=port, db_path=Path(tmp) / "scans.db", footage=plan_for(config))
        appliance.kiosk.until_t = seconds
        if appliance.display is not None:
            appliance.kiosk.realtime = True
            click.echo(f"screen: {appliance.display.url}")
            if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
                webbrowser.open(appliance.display.url)
        click.echo(f"gate {config.device.id}, {config.venue.type} venue {config.venue.id}; footage {video.name}\n")
        queued = None
        run_until_stopped(appliance)
        from gate.store import Store

        with Store(Path(tmp) / "scans.db") as store:
            queued = store.queue_depth()
        ok = report(appliance, seen, script, seconds, queued)
        if with_console:
            demo_console.serve(Path(tmp) / "scans.db", Path(tmp), config.device.id, config.trust.dir,
                               console_port)
    if not ok:
        sys.exit(1)


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
