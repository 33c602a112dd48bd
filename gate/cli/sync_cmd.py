"""`gate sync --config FILE [--once]`: upload queued records, fetch trust and status lists, report in (cli.md).

`--once`: one round, no waiting; exit 0 when nothing is left queued, 1 when records remain
(collector away or failing). Without it the command runs beside the kiosk until SIGTERM: a round
whenever records wait or the lists are due, backing off while the collector is away.

A progress bar is drawn for a long backlog when stdout is a terminal; under systemd (stdout not a
terminal) only one line per round that did something is written. Exit 2 for a configuration that
cannot be loaded, a device key that is missing or unusable, or a store that cannot be opened.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from gate.cli.errors import fail, load_config_or_fail

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
    from gate.pipeline import state_paths
    from gate.store import Store, StoreUnavailable
    from gate.sync import Syncer, SyncSetupError, load_device_key

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config_or_fail(config_path)
    try:
        store = Store(cfg.store.path)
    except StoreUnavailable as exc:
        fail(f"{exc}; check store.path in {config_path}.")
    ctx = click.get_current_context()
    try:
        if not cfg.collector.url:
            depth = store.queue_depth()
            click.echo(f"uploads are off: collector.url is empty in {config_path}; "
                       f"{depth} records stay queued.")
            ctx.exit(1 if depth else 0)
        try:
            key = load_device_key(cfg.device.key)
        except SyncSetupError as exc:
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
            _run_forever(syncer, tty)
        finally:
            syncer.close()
            if trust is not None:
                trust.close()
    finally:
        store.close()


def _run_forever(syncer: Any, tty: bool) -> None:
    """Rounds until SIGTERM or Ctrl-C; each ends cleanly between two batches."""
    stopping = {"now": False}

    def ask_to_stop(signum: int, frame: Any) -> None:
        stopping["now"] = True

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_round(result: Any) -> None:
        # failures and refused lists are already logged as warnings
        if result.ok and _worth_saying(result):
            click.echo(result.summary(), err=not tty)

    try:
        syncer.run_forever(lambda: stopping["now"], on_round=on_round,
                           progress_for=lambda backlog: progress_bar(backlog, tty=tty))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
