"""`gate sync --config FILE [--once]`: upload queued records, fetch trust and status lists, report in (cli.md).

`--once`: one round, no waiting; exit 0 when nothing is left queued, 1 when records remain
(collector away or failing). Without it the command runs beside the kiosk until SIGTERM: a round
whenever records wait or the lists are due, backing off while the collector is away.

Without --once it also follows its configuration file: when the file changes (the setup page,
`gate config set`) into one that loads, sync ends its round cleanly and starts again on it.

A progress bar is drawn for a long backlog when stdout is a terminal; under systemd (stdout not a
terminal) only one line per round that did something is written. Exit 2 for a configuration that
cannot be loaded, a device key that is missing or unusable, or a store that cannot be opened.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from gate.cli.errors import fail, load_config_or_fail
from gate.config import ConfigError, load_config
from gate.configfile import file_sha256

log = logging.getLogger("gate.sync")

DEFAULT_CONFIG = "/etc/gate/gate.toml"
# A backlog at least this long gets a progress bar (on a terminal).
PROGRESS_MIN_RECORDS = 1000


def progress_bar(backlog: int, *, tty: bool) -> Any:
    """A click progress bar for `backlog` records on a terminal, None otherwise or for a short one."""
    if not tty or backlog < PROGRESS_MIN_RECORDS:
        return None
    return click.progressbar(length=backlog, label=f"uploading {backlog} records",
                             show_pos=True, file=sys.stdout)


def _worth_saying(result: Any) -> bool:
    return bool(result.uploaded or result.duplicates or result.rejected or result.alerts_sent
                or result.trust_updated or result.status_updated or result.bulletin_updated)


@click.command("sync")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")
@click.option("--once", is_flag=True,
              help="One round, no waiting: exit 0 when nothing is left queued, 1 when records remain.")
def sync(config_path: Path, once: bool) -> None:
    """Upload queued records to the collector and fetch the trust and status lists."""
    from gate.codes.trust import TrustError, TrustStore
    from gate.state.paths import state_paths
    from gate.store import Store, StoreUnavailable
    from gate.devicesig import DeviceKeyError, load_device_key
    from gate.sync import Syncer

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config_or_fail(config_path)
    try:
        store = Store(cfg.store.path)
    except StoreUnavailable as exc:
        fail(f"{exc}; check store.path in {config_path}.")
    ctx = click.get_current_context()
    changed = False
    try:
        if not cfg.collector.url:
            depth = store.queue_depth()
            click.echo(f"uploads are off: collector.url is empty in {config_path}; "
                       f"{depth} records stay queued.")
            ctx.exit(1 if depth else 0)
        try:
            key = load_device_key(cfg.device.key)
        except DeviceKeyError as exc:
            fail(f"{exc}.")
        trust = None
        try:
            trust = TrustStore(cfg.trust.dir, state_paths(cfg.store.path)[0])
        except (TrustError, OSError, sqlite3.Error, ValueError) as exc:
            click.echo(f"warning: trust and status lists will not be fetched: {exc}", err=True)
        syncer = Syncer.from_config(cfg, store, trust, device_key=key)
        tty = sys.stdout.isatty()
        try:
            if once:
                bar = progress_bar(store.queue_depth(), tty=tty)
                if bar is None:
                    result = syncer.round()
                else:
                    with bar:
                        result = syncer.round(progress=bar.update)
                click.echo(result.summary())
                ctx.exit(0 if result.remaining == 0 else 1)
            changed = _run_forever(syncer, tty, ConfigWatch(config_path))
        finally:
            syncer.close()
            if trust is not None:
                trust.close()
    finally:
        store.close()
    if changed:
        # Everything the round used is closed: start again as a new process image on the new file
        # (same PID under systemd), so no part keeps a setting of the old one.
        click.echo(f"{config_path} changed: sync starts again with it", err=True)
        os.execv(sys.executable, [sys.executable, "-m", "gate.cli", *sys.argv[1:]])


class ConfigWatch:
    """Whether the configuration file has changed, since sync started, into one that loads.

    The setup page and `gate config set` change the file under a running `gate sync`; its
    `[collector]` and `[device]` settings are read once, at start. A changed file that does not
    load is logged once and ignored (the settings in force stay); looked at every `every_s`.
    """

    def __init__(self, path: Path, every_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.every_s = every_s
        self._monotonic = monotonic
        self._started = file_sha256(path)
        self._looked_at = monotonic()
        self._refused: str | None = None

    def __call__(self) -> bool:
        now = self._monotonic()
        if now - self._looked_at < self.every_s:
            return False
        self._looked_at = now
        sha = file_sha256(self.path)
        if not sha or sha == self._started or sha == self._refused:
            return False
        try:
            load_config(self.path)
        except ConfigError as exc:
            self._refused = sha
            log.warning("%s changed but cannot be used, the settings in force are kept: %s", self.path, exc)
            return False
        return True


def _run_forever(syncer: Any, tty: bool, config_changed: Callable[[], bool]) -> bool:
    """Rounds until SIGTERM or Ctrl-C, or until the configuration file changed into one that
    loads (then True); each ends cleanly between two batches."""
    stopping = {"now": False, "changed": False}

    def stop() -> bool:
        if not stopping["now"] and not stopping["changed"] and config_changed():
            stopping["changed"] = True
        return stopping["now"] or stopping["changed"]

    def ask_to_stop(signum: int, frame: Any) -> None:
        stopping["now"] = True

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_round(result: Any) -> None:
        # failures and refused lists are already logged as warnings
        if result.ok and _worth_saying(result):
            click.echo(result.summary(), err=not tty)

    try:
        syncer.run_forever(stop, on_round=on_round, progress_for=lambda backlog: progress_bar(backlog, tty=tty))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return stopping["changed"] and not stopping["now"]
