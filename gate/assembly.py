"""A gate's parts opened from its configuration: the record store (or why it is shut), the trust
folder, the body with its speaker, the thermometer, the time floor."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.config import Config
from gate.hardware.body import GateBody, simulated_body
from gate.hardware.speaker import open_speaker
from gate.hardware.thermometer import Thermometer, open_thermometer
from gate.state.paths import state_paths
from gate.store import Store, StoreUnavailable
from gate.voice import prompt_folder

log = logging.getLogger("gate.pipeline")


@dataclass
class OpenedParts:
    """What `open_parts` opened; `failure` says why the store is shut (None: it is open)."""

    store: Store | None
    failure: StoreUnavailable | None
    store_path: Path
    trust: TrustStore
    body: GateBody
    thermometer: Thermometer
    floor: TimeFloor


def open_parts(
    config: Config,
    *,
    db_path: Path | None = None,
    simulated_io: bool = False,
    thermometer: Thermometer | None = None,
    persist_floor: bool = True,
    clock: Callable[[], float] = time.time,
    body_options: dict[str, Any] | None = None,
) -> OpenedParts:
    """Open a gate's parts (see gate.pipeline.open_pipeline). A store that cannot be opened is
    not fatal; a trust folder without anchors is (TrustError)."""
    store_path = Path(db_path) if db_path is not None else config.store.path
    trust_state, floor_path = state_paths(store_path)
    failure: StoreUnavailable | None = None
    try:
        store: Store | None = Store(store_path)
    except StoreUnavailable as exc:
        log.error("%s; every scan will be refused until it is fixed", exc)
        store, failure = None, exc
    try:
        trust = TrustStore(config.trust.dir, trust_state)
    except (OSError, sqlite3.Error):  # state folder not writable (a read-only card): keep it in memory
        trust = TrustStore(config.trust.dir, None)
    for problem in trust.load_errors:
        log.warning("trust folder: %s", problem)
    options = dict(body_options or {})
    if "speaker" not in options:
        options["speaker"] = open_speaker(config.voice, prompt_folder(store_path), simulated=simulated_io)
    body = simulated_body(config.io, **options) if simulated_io else GateBody(config.io, **options)
    return OpenedParts(
        store=store, failure=failure, store_path=store_path, trust=trust, body=body,
        thermometer=thermometer or open_thermometer(config.temperature),
        floor=TimeFloor(floor_path if persist_floor else None, clock=clock))
