"""`gate demo --console`: after the demo's footage has run through the kiosk, a local collector
receives the gate's records through a real sync round, and serves the console with a demo admin.

The collector's database, secret and the gate's device key are made fresh in the demo's
temporary folder and go with it; the admin's password is random and printed once. `serve`
blocks until SIGINT or SIGTERM (or until `wait` returns, for tests).
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.cli.errors import fail

DEMO_ADMIN = "demo-admin"
MAX_ROUNDS = 100  # a demo's footage queues a few dozen records: one round delivers them


@dataclass
class DemoConsole:
    """The running console: where it is and how to sign in."""

    url: str
    username: str
    password: str
    synced: int


def _stop_on_signal() -> threading.Event:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.set())
    return stop


def wait_until_stopped(console: DemoConsole) -> None:
    """Block until Ctrl-C or SIGTERM."""
    _stop_on_signal().wait()


def serve(store_path: Path, folder: Path, device_id: str, lists_dir: Path, port: int,
          wait: Callable[[DemoConsole], None] | None = None) -> DemoConsole:
    """Sync the store at `store_path` to a new collector in `folder`, serve its console on
    127.0.0.1:`port`, print how to sign in, and block in `wait` (default: until a signal)."""
    from gate.collector import django_db

    django_db.setup()  # before the models are imported
    from gate.collector import devices, users
    from gate.collector.app import create_app
    from gate.collector.server import BackgroundServer
    from gate.devicesig import public_key_b64
    from gate.store import Store
    from gate.sync import Syncer, SyncSettings

    key = Ed25519PrivateKey.generate()
    app = create_app(f"sqlite:///{folder / 'collector.db'}", lists_dir)
    password = secrets.token_urlsafe(12)
    with app.activate():
        devices.add_device(device_id, public_key_b64(key.public_key()))
        users.add_user(DEMO_ADMIN, "admin", password)
    server = BackgroundServer(app, port=port)
    try:
        server.start()
    except OSError as exc:
        app.close()
        fail(f"cannot serve the console on 127.0.0.1:{port}: {exc.strerror or exc}")
    try:
        with Store(store_path) as store:
            before = store.queue_depth()
            syncer = Syncer(store, None, SyncSettings(url=server.url, device_id=device_id, device_key=key))
            for _ in range(MAX_ROUNDS):
                result = syncer.round(lists=False)
                if not result.ok:
                    fail(f"the demo gate could not sync to its collector: {result.error}")
                if result.remaining == 0:
                    break
            synced = before - store.queue_depth()
        console = DemoConsole(f"{server.url}/console/", DEMO_ADMIN, password, synced)
        click.echo(f"\nconsole: {console.url}  ({synced} records synced from {device_id})")
        click.echo(f"  sign in as {console.username} with password {console.password}")
        click.echo("  Ctrl-C stops it; the collector's database goes with the demo.")
        (wait or wait_until_stopped)(console)
        return console
    finally:
        server.stop()
        app.close()

