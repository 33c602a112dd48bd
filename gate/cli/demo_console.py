"""`gate demo --console`: after the demo's footage has run through the kiosk, a local collector
receives the gate's records through real sync rounds and serves the console with a demo admin.

The demo's gate is then what a gate in service is: its kiosk stays up, idle (`DemoConsole.tick`
turns it), and its sync keeps heartbeating beside it (`GateSync`) with the gate's real state, so
the console shows the one gate online with its venue, its trust and status lists, and the
kiosk's own fault list (asked over the kiosk's control channel, as `gate sync` does), until
Ctrl-C or SIGTERM sets `stop`.

The collector's database, secret and the gate's device key are made fresh in the demo's
temporary folder and go with it; the admin's password is random and printed once. `serve`
blocks in `wait_until_stopped` (a test may put its own look in its place).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.cli.errors import fail
from gate.config import Config

log = logging.getLogger("gate.demo")

DEMO_ADMIN = "demo-admin"
MAX_ROUNDS = 100  # a demo's footage queues a few dozen records: one round delivers them
HEARTBEAT_S = 60.0  # while the demo runs; the console calls a gate online within 10 minutes
IDLE_TICK_S = 0.5
FIRST_SYNC_S = 120.0  # the first rounds of a demo take a second or two


@dataclass
class DemoConsole:
    """The running console: where it is, how to sign in, and the demo gate it watches."""

    url: str
    username: str
    password: str
    synced: int
    stop: threading.Event
    tick: Callable[[], None]  # one turn of the idle kiosk (its watchdog, faults, clock)


def wait_until_stopped(console: DemoConsole) -> None:
    """Keep the idle kiosk turning until Ctrl-C or SIGTERM (`console.stop`)."""
    while not console.stop.wait(IDLE_TICK_S):
        console.tick()


class GateSync(threading.Thread):
    """The demo gate's sync, beside its kiosk: rounds until the queue is delivered (`ready`),
    then heartbeats until `stop`. Its own store connection and trust store, as `gate sync` has."""

    def __init__(self, store_path: Path, config: Config, url: str, key: Ed25519PrivateKey,
                 kiosk_folder: Path, stop: threading.Event) -> None:
        super().__init__(name="demo-sync", daemon=True)
        self.store_path = store_path
        self.config = config
        self.url = url
        self.key = key
        self.kiosk_folder = kiosk_folder
        self.stop = stop
        self.ready = threading.Event()
        self.synced = 0
        self.error: str | None = None

    def run(self) -> None:
        from gate.codes.trust import TrustStore
        from gate.control import KioskClient
        from gate.state.paths import state_paths
        from gate.store import Store
        from gate.sync import Syncer, SyncSettings
        from gate.state.faults_now import KIOSK_TIMEOUT_S

        cfg = self.config
        try:
            with Store(self.store_path) as store:
                trust = TrustStore(cfg.trust.dir, state_paths(self.store_path)[0])
                settings = SyncSettings(url=self.url, device_id=cfg.device.id, device_key=self.key,
                                        batch_size=cfg.collector.batch_size, venue_id=cfg.venue.id,
                                        venue_type=cfg.venue.type, config=cfg)
                syncer = Syncer(store, trust, settings,
                                kiosk=KioskClient(self.kiosk_folder, timeout_s=KIOSK_TIMEOUT_S))
                try:
                    before = store.queue_depth()
                    for _ in range(MAX_ROUNDS):
                        result = syncer.round()
                        if not result.ok:
                            self.error = f"the demo gate could not sync to its collector: {result.error}"
                            return
                        if result.remaining == 0:
                            break
                    self.synced = before - store.queue_depth()
                    self.ready.set()
                    syncer.run_forever(self.stop.is_set, heartbeat_interval_s=HEARTBEAT_S)
                finally:
                    syncer.close()
                    trust.close()
        except Exception as exc:  # noqa: BLE001  (told to the person once, in one line)
            log.debug("demo sync failed", exc_info=True)
            self.error = f"the demo gate's sync stopped: {type(exc).__name__}: {exc}"
        finally:
            self.ready.set()


def serve(store_path: Path, folder: Path, config: Config, port: int, *, stop: threading.Event,
          kiosk_folder: Path, tick: Callable[[], None]) -> DemoConsole | None:
    """Start a collector in `folder` serving the console on 127.0.0.1:`port`, sync the gate's
    store at `store_path` to it, print how to sign in, and block in `wait_until_stopped`.
    None when `stop` came before the console was up."""
    from gate.collector import django_db

    django_db.setup()  # before the models are imported
    from gate.collector import devices, users
    from gate.collector.app import create_app
    from gate.collector.server import BackgroundServer
    from gate.devicesig import public_key_b64

    key = Ed25519PrivateKey.generate()
    app = create_app(f"sqlite:///{folder / 'collector.db'}", config.trust.dir)
    password = secrets.token_urlsafe(12)
    with app.activate():
        devices.add_device(config.device.id, public_key_b64(key.public_key()))
        users.add_user(DEMO_ADMIN, "admin", password)
    server = BackgroundServer(app, port=port)
    try:
        server.start()
    except OSError as exc:
        app.close()
        fail(f"cannot serve the console on 127.0.0.1:{port}: {exc.strerror or exc}")
    sync = GateSync(store_path, config, server.url, key, kiosk_folder, stop)
    try:
        sync.start()
        waited = 0.0
        while not sync.ready.wait(IDLE_TICK_S):  # the kiosk keeps turning meanwhile
            tick()
            waited += IDLE_TICK_S
            if stop.is_set() or waited > FIRST_SYNC_S:
                break
        if sync.error is not None:
            fail(sync.error)
        if not sync.ready.is_set():
            if stop.is_set():
                return None
            fail(f"the demo gate did not sync to its collector in {FIRST_SYNC_S:.0f} s")
        console = DemoConsole(f"{server.url}/console/", DEMO_ADMIN, password, sync.synced, stop, tick)
        click.echo(f"\nconsole: {console.url}  ({sync.synced} records synced from {config.device.id})")
        click.echo(f"  sign in as {console.username} with password {console.password}")
        click.echo("  the gate stays up, idle and heartbeating; Ctrl-C stops the demo and its collector.")
        wait_until_stopped(console)
        return console
    finally:
        stop.set()
        sync.join(10)
        server.stop()
        app.close()
