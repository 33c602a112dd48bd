"""`gate collector`: run the reference collector and register the gates allowed to upload."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from gate.cli.errors import fail

DEFAULT_DB = "sqlite:///collector.db"


_fail = fail  # the one-line failure of every gate command (gate.cli.errors)


def _open(db_url: str):  # -> gate.collector.db.Database
    from gate.collector.db import DatabaseUnavailable, open_database

    try:
        return open_database(db_url)
    except ValueError as exc:
        _fail(str(exc))
    except DatabaseUnavailable as exc:
        _fail(str(exc).splitlines()[0], status=1)


@click.group()
def collector() -> None:
    """The central collector that receives the records of a fleet of gates (upload.md)."""


@collector.command()
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True,
              help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535))
@click.option("--lists", "lists_dir", default="lists", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of signed lists: trustlist.json(.sig), statuslist.json(.sig), "
                   "statuslist.d/<base>-<version>.json(.sig).")
@click.option("--alert-log", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-lines file that every new alert is appended to.")
@click.option("--webhook", "webhook_url", help="URL each new alert is POSTed to as JSON.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
def serve(db_url: str, host: str, port: int, lists_dir: Path, alert_log: Path | None,
          webhook_url: str | None, threads: int) -> None:
    """Serve the collector with waitress until interrupted."""
    from gate.collector.app import CollectorApp
    from gate.collector.alerts import AlertNotifier
    from gate.collector.lists import ListsDirectory
    from gate.collector.server import serve as run_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not lists_dir.is_dir():
        click.echo(f"warning: lists folder {lists_dir} does not exist; list requests answer 404",
                   err=True)
    app = CollectorApp(_open(db_url), ListsDirectory(lists_dir),
                       AlertNotifier(alert_log, webhook_url))
    click.echo(f"collector on http://{host}:{port} (db {db_url}, lists {lists_dir})", err=True)
    try:
        run_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}.", status=1)
    finally:
        app.close()


@collector.command("add-device")
@click.argument("device_id")
@click.argument("pubkey")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True)
def add_device(device_id: str, pubkey: str, db_url: str) -> None:
    """Register DEVICE_ID with PUBKEY (a PEM file, or base64 of the SPKI DER); enables it."""
    from gate.devicesig import load_public_key, public_key_b64

    path = Path(pubkey)
    try:
        text = path.read_bytes() if path.is_file() else pubkey
    except OSError as exc:
        _fail(f"cannot read {pubkey}: {exc.strerror}.")
    try:
        key = load_public_key(text)
    except ValueError as exc:
        _fail(f"cannot use {pubkey}: {exc}; "
              "give a PEM file path or base64 SPKI of an Ed25519 key.")
    db = _open(db_url)
    try:
        db.add_device(device_id, public_key_b64(key))
    finally:
        db.close()
    click.echo(f"device {device_id} registered and enabled")


@collector.command("disable-device")
@click.argument("device_id")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True)
def disable_device(device_id: str, db_url: str) -> None:
    """Refuse further uploads from DEVICE_ID (403); its stored records stay."""
    db = _open(db_url)
    try:
        found = db.set_device_enabled(device_id, False)
    finally:
        db.close()
    if not found:
        _fail(f"no device {device_id} is registered; add it with 'gate collector add-device'.")
    click.echo(f"device {device_id} disabled")
