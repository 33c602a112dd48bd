"""`gate setup serve|passwd|cert --config FILE` (spec/setup.md): the technician's setup page.

`serve` runs the page over HTTPS in its own process (gate-setup.service); with
`[setup] enabled = false` it says so in one line and exits 0, so the unit stays off without
failing. `passwd` stores an Argon2id hash of a new password in `[setup] password_hash`, written
like `gate config set` (comments kept, atomically). `cert` makes the certificate at provisioning
and prints its fingerprint; `cert --renew` replaces it (a certificate an older version made with
CA:TRUE, a damaged one). `serve` checks the certificate and key before it listens: a bad one is
one line and exit 2 (systemd does not restart a crash loop of tracebacks).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click
import tomlkit
from tomlkit.exceptions import TOMLKitError

from gate.cli.errors import fail, load_config_or_fail

DEFAULT_CONFIG = "/etc/gate/gate.toml"
DEFAULT_STATE_DIR = "/var/lib/gate-setup"


def _config_option(f):  # type: ignore[no-untyped-def]
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")(f)


@click.group("setup")
def setup() -> None:
    """The technician's setup page: serve it, set its password, make its certificate."""


@setup.command("serve")
@_config_option
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_STATE_DIR,
              show_default=True, help="Where the sign-in lockout and the change log are kept.")
@click.option("--listen", default=None, help="ADDRESS:PORT instead of [setup] listen (tests).")
def serve(config_path: Path, state_dir: Path, listen: str | None) -> None:
    """Serve the setup page over HTTPS until stopped (SIGTERM, Ctrl-C)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cfg = load_config_or_fail(config_path)
    if not cfg.setup.enabled:
        click.echo(f"setup page is off ([setup] enabled = false in {config_path}); nothing to serve")
        return
    from gate.control import KioskClient
    from gate.setup.app import SetupState, create_app
    from gate.setup.check import setup_urls
    from gate.setup.server import SetupServer, parse_listen
    from gate.tls import TLSFileError, ensure_certificate, fingerprint, is_ca

    try:
        cert, key = ensure_certificate(cfg.device.key.parent)
    except OSError as exc:
        fail(f"cannot make the setup page's certificate in {cfg.device.key.parent}: {exc.strerror or exc}")
    try:
        host, port = parse_listen(listen or cfg.setup.listen)
    except ValueError:
        fail(f"--listen {listen!r}: give ADDRESS:PORT, e.g. 0.0.0.0:8443")
    state = SetupState(config_path=config_path.resolve(), state_dir=state_dir, kiosk=KioskClient())
    try:
        server = SetupServer(create_app(state), host, port, cert, key, on_stop=state.stop)
        server.start()
    except TLSFileError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    if not cfg.setup.password_hash:
        click.echo("no setup password is set: every sign-in is refused; run gate setup passwd", err=True)
    if is_ca(cert):
        click.echo(f"{cert} says CA:TRUE (made by an older version): run gate setup cert --renew", err=True)
    where = setup_urls(f"[{host}]:{server.port}" if ":" in host else f"{host}:{server.port}")
    click.echo(f"setup page at {', '.join(where) or f'port {server.port} (no network address yet)'} "
               f"(certificate SHA-256 {fingerprint(cert)})")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    stop.wait()
    server.stop()


@setup.command("passwd")
@_config_option
def passwd(config_path: Path) -> None:
    """Set the setup page's password (asked twice on a terminal, else one line from stdin)."""
    from gate.cli.config_cmd import write_atomically
    from gate.config import ConfigError, loads_config
    from gate.setup.auth import hash_password

    load_config_or_fail(config_path)
    if sys.stdin.isatty():
        password = click.prompt("New setup password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        fail(str(exc))
    try:
        doc = tomlkit.parse(config_path.read_text(encoding="utf-8"))
    except (OSError, TOMLKitError) as exc:
        fail(f"{config_path}: cannot be read: {exc}")
    if "setup" not in doc:
        doc["setup"] = tomlkit.table()
    doc["setup"]["password_hash"] = hashed
    text = tomlkit.dumps(doc)
    try:
        loads_config(text, config_path)
        write_atomically(config_path, text)
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{config_path}: cannot be written: {exc.strerror or exc}")
    logging.getLogger("gate.setup.changes").info("setup password changed in %s", config_path)
    click.echo(f"{config_path}: setup password set (stored as an Argon2id hash)")


@setup.command("cert")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Put it beside this configuration's device key (default: /etc/gate/gate.toml's).")
@click.option("--dir", "key_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Put it in this folder instead (provision.sh: the device key's folder).")
@click.option("--renew", is_flag=True, help="Replace it with a new key and certificate (a new fingerprint).")
def cert(config_path: Path | None, key_dir: Path | None, renew: bool) -> None:
    """Make the setup page's certificate beside the device key (if missing); print its fingerprint."""
    from gate.tls import TLSFileError, ensure_certificate, fingerprint, is_ca, make_certificate, \
        server_context

    if key_dir is None:
        key_dir = load_config_or_fail(config_path or DEFAULT_CONFIG).device.key.parent
    try:
        path, key = make_certificate(key_dir) if renew else ensure_certificate(key_dir)
    except OSError as exc:
        fail(f"cannot make the setup page's certificate in {key_dir}: {exc.strerror or exc}")
    try:
        server_context(path, key)
    except TLSFileError as exc:
        fail(str(exc))
    click.echo(f"setup page certificate {path}: SHA-256 {fingerprint(path)}"
               + (" (new: check this fingerprint in the browser)" if renew else ""))
    if is_ca(path):
        click.echo(f"{path} says CA:TRUE (made by an older version): run gate setup cert --renew", err=True)
