"""`gate replay`: events from a JSONL file through the kiosk's decision path (cli.md)."""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from gate.cli.errors import fail, load_config_or_fail
from gate.codes.trust import TrustError
from gate.errors import GateError
from gate.hardware.body import HardwareError
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import Pipeline, open_pipeline

NO_CODE = {"decision": None, "reasons": ["no_code_found"], "code": None, "record_id": None, "relay_pulsed": False}


class EventError(GateError, ValueError):
    """An event line that cannot be replayed; the message names the line and the fault."""


def parse_event(line: str, number: int) -> dict[str, Any]:
    """One JSONL event: {"t": EPOCH, "qr": TEXT | "image": PATH, "temp_c": number|null}."""
    try:
        event = json.loads(line)
    except ValueError:
        raise EventError(f"line {number}: not JSON") from None
    if not isinstance(event, dict):
        raise EventError(f"line {number}: not a JSON object")
    t = event.get("t")
    if type(t) not in (int, float) or not math.isfinite(t):
        raise EventError(f"line {number}: 't' must be a number of seconds since 1970")
    if not isinstance(event.get("qr"), str) and not isinstance(event.get("image"), str):
        raise EventError(f"line {number}: give 'qr' (the QR text) or 'image' (a picture's path)")
    temp = event.get("temp_c")
    if temp is not None and (type(temp) not in (int, float) or not math.isfinite(temp)):
        raise EventError(f"line {number}: 'temp_c' must be a number or null")
    return event


def texts_in_image(path: Path) -> list[str]:
    """The QR texts of a picture, through the kiosk's decoder chain."""
    import cv2

    from gate.vision.decode import QRDecoder

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise EventError(f"{path}: not a readable image")
    return QRDecoder().decode(image)


def replay_events(pipeline: Pipeline, thermometer: SimulatedThermometer, events: TextIO, out: TextIO,
                  base_dir: Path) -> int:
    """Replay every line of `events`; returns how many lines could not be replayed."""
    bad = 0
    for number, line in enumerate(events, start=1):
        if not line.strip():
            continue
        try:
            event = parse_event(line, number)
            if "qr" in event and isinstance(event["qr"], str):
                text = event["qr"]
            else:
                texts = texts_in_image(base_dir / event["image"])
                if not texts:
                    out.write(json.dumps(NO_CODE) + "\n")
                    continue
                text = texts[0]
        except EventError as exc:
            bad += 1
            click.echo(f"gate replay: {exc}", err=True)
            out.write(json.dumps({"error": str(exc), "decision": None, "record_id": None, "relay_pulsed": False}) + "\n")
            continue
        temp = event.get("temp_c")
        thermometer.set(None if temp is None else float(temp))
        reading: Reading = thermometer.read()
        outcome = pipeline.scan(text, reading=reading, at=float(event["t"]))
        out.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    return bad


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The gate's configuration (TOML).")
@click.option("--events", "events_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help='JSONL: {"t": EPOCH, "qr": "JKM1:..." | "image": "path.png", "temp_c": 36.5} per line; - for stdin.')
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Record store to write (default: the configuration's store.path).")
def replay(config_path: Path, events_path: Path, db_path: Path | None) -> None:
    """Run events through the kiosk's decision path with simulated pins; one JSON line per event."""
    logging.basicConfig(level=logging.WARNING, format="gate replay: %(message)s")
    config = load_config_or_fail(config_path)
    thermometer = SimulatedThermometer(None)
    try:
        pipeline = open_pipeline(config, db_path=db_path, simulated_io=True, thermometer=thermometer,
                                 persist_floor=False, body_options={"timer": False})
    except (TrustError, ValueError) as exc:
        fail(f"Cannot use the trust folder {config.trust.dir}: {exc}")
    except HardwareError as exc:
        fail(str(exc))
    if pipeline.store is None:  # replaying is recording: without a store there is nothing to do
        pipeline.close()
        fail(f"Cannot open the record store: {pipeline.store_failure}")
    try:
        if str(events_path) == "-":
            replay_events(pipeline, thermometer, sys.stdin, sys.stdout, Path.cwd())
        else:
            try:
                events = events_path.open(encoding="utf-8")
            except OSError as exc:
                fail(f"Cannot read the events file {events_path}: {exc.strerror}.")
            with events:
                replay_events(pipeline, thermometer, events, sys.stdout, events_path.parent)
    finally:
        pipeline.close()
