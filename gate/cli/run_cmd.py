"""`gate run`: the appliance (cli.md). Footage as camera.source runs to its end and exits 0."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from gate.cli.errors import fail, load_config_or_fail
from gate.codes.trust import TrustError
from gate.config import problems
from gate.display import DisplayServer
from gate.errors import GateError
from gate.footage import plan_for
from gate.hardware.body import HardwareError
from gate.kiosk import Appliance, assemble
from gate.pipeline import ScanOutcome


def start_appliance(config: Any, **kwargs: Any) -> Appliance:
    """assemble(), with every reason a gate cannot start (any GateError) turned into one line and exit 2.

    The screen's server (gate.display) is the command's to give: the kiosk never imports it."""
    kwargs.setdefault("screen", screen_server)
    try:
        return assemble(config, **kwargs)
    except GateError as exc:
        fail(cannot_start(exc, config))


def screen_server(port: int) -> DisplayServer:
    """The screen's server on 127.0.0.1:`port`, not yet started."""
    return DisplayServer(port=port)


def cannot_start(exc: GateError, config: Any) -> str:
    """The one line for a gate that cannot start: the error's own sentence, with what to do where
    the command knows more (which trust folder; the flag that runs without pins)."""
    if isinstance(exc, TrustError):
        return f"Cannot use the trust folder {config.trust.dir}: {exc}"
    if isinstance(exc, HardwareError):
        return f"{exc} (use --simulate-io to run without pins)"
    return str(exc)


def refuse_to_start_on_problems(config_path: Path) -> None:
    """Exit 2 listing every problem (one a line) that `gate config validate` would list."""
    found = problems(config_path)
    if found:
        for line in found:
            click.echo(line, err=True)
        click.get_current_context().exit(2)


def run_until_stopped(appliance: Appliance) -> None:
    """Run the kiosk; SIGTERM and SIGINT stop it cleanly (relay off, devices closed)."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        appliance.kiosk.run(stop)
    finally:
        appliance.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--headless", is_flag=True, help="No screen server.")
@click.option("--jsonl", is_flag=True, help="One JSON line per decision on stdout, as gate replay.")
@click.option("--simulate-io/--real-io", default=None,
              help="Drive pins through gpiozero's MockFactory (default: simulated for footage, real for a camera).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The screen's port on 127.0.0.1.")
def run(config_path: Path, headless: bool, jsonl: bool, simulate_io: bool | None, port: int) -> None:
    """Run the gate: camera, thermometer, rules, relay, lights, screen."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    refuse_to_start_on_problems(config_path)
    config = load_config_or_fail(config_path)

    def emit(outcome: ScanOutcome) -> None:
        if jsonl:
            sys.stdout.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()

    appliance = start_appliance(config, headless=headless, simulate_io=simulate_io, on_outcome=emit, display_port=port,
                                footage=plan_for(config))
    if appliance.pipeline.store is None:
        if appliance.display is None:  # nothing to show the fault on: say it once and stop
            appliance.close()
            fail(f"Cannot open the record store: {appliance.pipeline.store_failure}")
        # With a screen the gate stays up, shut, showing the fault, and retries the store.
        logging.getLogger("gate").error("record store unavailable, the gate stays shut: %s",
                                        appliance.pipeline.store_failure)
    if appliance.display is not None:
        logging.getLogger("gate").info("screen at %s", appliance.display.url)
    from gate.reload import attach

    detach = attach(appliance.kiosk, config, config_path)  # SIGHUP reload, the setup page's channel
    try:
        run_until_stopped(appliance)
    finally:
        detach()
    logging.getLogger("gate").info("stopped: %s", json.dumps(appliance.kiosk.stats.summary()))
