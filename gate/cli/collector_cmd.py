"""`gate collector`: run the collector and its console, and manage its devices and people.

Every command takes ``--db URL`` (``sqlite:///PATH`` or ``postgresql://...``); the database is
created or migrated on first use. Errors are one line on stderr with exit status 2 (usage,
configuration, refused change, a busy port) or 1 (the database cannot be reached).

Django is configured once, by the group, before any command runs (so before any of them imports
a model): every command of the group, including any added later, starts with it in place. Only
`serve` configures it itself, after it holds its port and has chosen its session key (Django reads
the key from the settings once, when it is configured).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path

import click

from gate.cli.collector_db import DB_HELP, DEFAULT_DB
from gate.cli.collector_db import database as _database
from gate.cli.errors import fail
from gate.cli.venue_card_cmd import venue_card
from gate.collector import django_db

# commands that configure Django themselves, after their own first steps (see the module's text)
_CONFIGURES_DJANGO_ITSELF = frozenset({"serve"})

def _secret_file(db_url: str) -> str:
    from gate.collector.dburl import SQLITE_PREFIX

    if db_url.startswith(SQLITE_PREFIX):
        return str(Path(db_url[len(SQLITE_PREFIX):]).with_suffix(".secret"))
    return "collector-secret.key"


def default_directive_key(lists_dir: Path) -> Path:
    """Where the collector keeps its directive key unless told: ``directive.key`` beside the
    lists folder (``./directive.key`` for the default ``./lists``, as `gate collector venue-card`)."""
    return lists_dir.absolute().parent / "directive.key"


@click.group()
@click.pass_context
def collector(ctx: click.Context) -> None:
    """The central collector of a fleet of gates (upload.md) and its console (console.md)."""
    if ctx.invoked_subcommand not in _CONFIGURES_DJANGO_ITSELF:
        django_db.setup()


@collector.command()
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535))
@click.option("--lists", "lists_dir", default="lists", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of signed lists: trustlist.json(.sig), statuslist.json(.sig), "
                   "statuslist.d/<base>-<version>.json(.sig), bulletin.json(.sig).")
@click.option("--alert-log", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-lines file that every new alert is appended to.")
@click.option("--webhook", "webhook_url", help="URL each new alert is POSTed to as JSON.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--secret-file", type=click.Path(dir_okay=False),
              help="File holding the session signing key (made when missing); every collector "
                   "process behind one load balancer must share it. Default: next to the SQLite "
                   "file, or ./collector-secret.key.")
@click.option("--retention-days", default=400, show_default=True, type=click.IntRange(1, 36500),
              help="Records are kept this many days; a record scanned longer ago (or more than a "
                   "day after this machine's clock) is refused as implausible (bad_scanned_at).")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="CIDR",
              help="A reverse proxy (address or network) whose X-Forwarded-For names the client "
                   "(the right-most address that is not a trusted proxy); repeatable. Without "
                   "it the client is the connection's peer.")
@click.option("--directive-key", "directive_key", envvar="GATE_DIRECTIVE_KEY",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The collector's directive key (`gate keys new directive --out PATH`) that signs "
                   "bulletins and venue cards in the console. Default: directive.key beside the "
                   "lists folder (never inside it: that folder is served).")
def serve(db_url: str, host: str, port: int, lists_dir: Path, alert_log: Path | None,
          webhook_url: str | None, threads: int, secret_file: str | None,
          retention_days: int, trusted_proxies: tuple[str, ...],
          directive_key: Path | None) -> None:
    """Serve the device API and the console (/console/) with waitress until interrupted.

    The port is taken first: a busy one is refused in one line before anything is written (no
    database, no secret file)."""
    from gate.collector.clients import parse_networks
    from gate.collector.dburl import database_settings
    from gate.collector.server import bind

    try:
        database_settings(db_url)
        parse_networks(trusted_proxies)
    except ValueError as exc:
        fail(str(exc))
    try:
        sock = bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}.")
    os.environ["GATE_COLLECTOR_DB"] = db_url
    if "GATE_COLLECTOR_SECRET_KEY" not in os.environ:
        os.environ["GATE_COLLECTOR_SECRET_FILE"] = secret_file or _secret_file(db_url)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("django.request").setLevel(logging.ERROR)
    if not lists_dir.is_dir():
        click.echo(f"warning: lists folder {lists_dir} does not exist; list requests answer 404",
                   err=True)
    key_path = directive_key or default_directive_key(lists_dir)
    if not key_path.is_file():
        click.echo(f"warning: no directive key at {key_path}; the console cannot sign bulletins or "
                   f"venue cards (make one: gate keys new directive --out {key_path})", err=True)
    with sock:
        _serve_on(sock, db_url, lists_dir, alert_log, webhook_url, key_path, host, threads,
                  retention_days, trusted_proxies)


def _serve_on(sock: socket.socket, db_url: str, lists_dir: Path, alert_log: Path | None,
              webhook_url: str | None, key_path: Path, host: str, threads: int,
              retention_days: int, trusted_proxies: tuple[str, ...]) -> None:
    """Configure Django (the settings read the environment `serve` set), build the app, serve."""
    from django.db import DatabaseError

    try:
        django_db.setup()  # the settings make the secret file when it is missing
        from gate.collector.app import create_app
        from gate.collector.server import serve as run_server

        app = create_app(db_url, lists_dir, alert_log=alert_log, webhook_url=webhook_url,
                         directive_key=key_path, retention_days=retention_days,
                         trusted_proxies=trusted_proxies)
    except OSError as exc:
        fail(f"cannot use the secret file: {exc}", 1)
    except DatabaseError as exc:
        fail(f"cannot open the database {db_url}: {str(exc).strip().splitlines()[0]}", 1)

    def listening(port: int) -> None:
        click.echo(f"collector on http://{host}:{port} (console /console/, db {db_url}, "
                   f"lists {lists_dir})", err=True)

    try:
        run_server(app, host=host, port=sock.getsockname()[1], threads=threads, sock=sock,
                   listening=listening)
    finally:
        app.close()


# --- devices -------------------------------------------------------------------------------------

def _device_id_or_fail(device_id: str) -> str:
    """`device_id` when it is in the gate's id alphabet; else the command stops with one line
    (the id shown escaped: a terminal never receives what was typed into it raw)."""
    from gate.ids import id_problem

    problem = id_problem(device_id)
    if problem is not None:
        fail(f"{problem}.")
    return device_id


@collector.command("add-device")
@click.argument("device_id")
@click.argument("pubkey")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--replace", is_flag=True, help="Replace the key of a device that exists.")
def add_device(device_id: str, pubkey: str, db_url: str, replace: bool) -> None:
    """Register DEVICE_ID with PUBKEY (a PEM file, or base64 of the SPKI DER)."""
    from gate.devicesig import load_public_key, public_key_b64
    from gate.ids import shown

    _device_id_or_fail(device_id)
    path = Path(pubkey)
    try:
        text = path.read_bytes() if path.is_file() else pubkey
    except OSError as exc:
        fail(f"cannot read {shown(pubkey)}: {exc.strerror}.")
    try:
        key = load_public_key(text)
    except ValueError as exc:
        fail(f"cannot use {shown(pubkey)}: {exc}; "
              "give a PEM file path or base64 SPKI of an Ed25519 key.")
    from gate.collector.audit import audit_command
    from gate.collector.devices import DeviceError
    from gate.collector.devices import add_device as register

    b64 = public_key_b64(key)
    with _database(db_url):
        try:
            done = register(device_id, b64, replace=replace)
        except DeviceError as exc:
            fail(f"{exc}.")
        audit_command("device.replace" if done == "replaced" else "device.add",
                      {"device_id": device_id, "public_key": b64})
    click.echo(f"device {device_id} {'key replaced' if done == 'replaced' else 'registered'}")


def _set_enabled(device_id: str, db_url: str, enabled: bool) -> None:
    _device_id_or_fail(device_id)
    from gate.collector.audit import audit_command
    from gate.collector.devices import set_enabled

    with _database(db_url):
        if not set_enabled(device_id, enabled):
            fail(f"no device {device_id} is registered; add it with "
                  "'gate collector add-device'.")
        audit_command("device.enable" if enabled else "device.disable", {"device_id": device_id})
    click.echo(f"device {device_id} {'enabled' if enabled else 'disabled'}")


@collector.command("disable-device")
@click.argument("device_id")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def disable_device(device_id: str, db_url: str) -> None:
    """Refuse further requests from DEVICE_ID (403); its stored records stay."""
    _set_enabled(device_id, db_url, False)


@collector.command("enable-device")
@click.argument("device_id")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def enable_device(device_id: str, db_url: str) -> None:
    """Accept requests from DEVICE_ID again."""
    _set_enabled(device_id, db_url, True)


@collector.command("devices")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per device, one a line.")
def devices(db_url: str, as_json: bool) -> None:
    """List the registered devices with their latest heartbeat (online: within 10 minutes)."""
    from gate.collector.devices import devices_summary
    from gate.ids import is_id, shown

    with _database(db_url):
        rows = devices_summary()
    for row in rows:
        if as_json:  # JSON escapes every control character
            click.echo(json.dumps(row, sort_keys=True))
        else:
            state = "enabled" if row["enabled"] else "disabled"
            online = "online" if row["online"] else "offline"
            queue = row.get("queue_depth", "-")
            click.echo(f"{row['id'] if is_id(row['id']) else shown(row['id'])}  {state}  {online}"
                       f"  last heartbeat {row['last_heartbeat_at'] or 'never'}  queue "
                       f"{queue if isinstance(queue, int) or queue == '-' else shown(queue)}")


# --- people --------------------------------------------------------------------------------------

def _read_password(name: str) -> str:
    stdin = sys.stdin
    if stdin.isatty():
        return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    line = stdin.readline()
    return line.rstrip("\r\n")


@collector.command("add-user")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "tracer", "admin"]))
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def add_user(name: str, role: str, db_url: str) -> None:
    """Add a console user NAME with ROLE; the password is read from stdin (or asked)."""
    from gate.collector.audit import audit_command
    from gate.collector.users import UserError
    from gate.collector.users import add_user as make_user

    password = _read_password(name)
    with _database(db_url):
        try:
            make_user(name, role, password)
        except UserError as exc:
            fail(f"{exc}")
        audit_command("user.add", {"user": name, "role": role})
    click.echo(f"user {name} added with role {role}")


@collector.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "tracer", "admin"]))
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def set_role(name: str, role: str, db_url: str) -> None:
    """Give console user NAME the role ROLE."""
    from gate.collector.audit import audit_command
    from gate.collector.users import UserError
    from gate.collector.users import set_role as change

    with _database(db_url):
        try:
            change(name, role)
        except UserError as exc:
            fail(f"{exc}")
        audit_command("user.set_role", {"user": name, "role": role})
    click.echo(f"user {name} now has role {role}")


@collector.command("disable-user")
@click.argument("name")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def disable_user(name: str, db_url: str) -> None:
    """Stop console user NAME from signing in."""
    from gate.collector.audit import audit_command
    from gate.collector.users import UserError
    from gate.collector.users import disable_user as disable

    with _database(db_url):
        try:
            disable(name)
        except UserError as exc:
            fail(f"{exc}")
        audit_command("user.disable", {"user": name})
    click.echo(f"user {name} disabled")


# --- tracing -------------------------------------------------------------------------------------

@collector.command("trace")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
@click.option("--sub", required=True, help="The subject's code sub (hex).")
@click.option("--issuer", help="The code's issuer (iss); any issuer when omitted.")
@click.option("--from", "start", help="Start: ISO 8601 time or epoch seconds (default 14 days ago).")
@click.option("--to", "end", help="End: ISO 8601 time or epoch seconds (default now).")
@click.option("--window-min", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="Minutes either side of a visit in which a scan at the venue is a contact.")
@click.option("--json", "as_json", is_flag=True, help="Print console.md's JSON object.")
def trace(db_url: str, sub: str, issuer: str | None, start: str | None, end: str | None,
          window_min: float, as_json: bool) -> None:
    """Contact tracing for one subject: visits and contacts (console.md); audited."""
    from gate.collector.audit import audit_command
    from gate.collector.tracing import default_range, parse_time
    from gate.collector.tracing import trace as run_trace

    low, high = default_range()
    try:
        low = parse_time(start) if start else low
        high = parse_time(end) if end else high
    except ValueError as exc:
        fail(f"{exc}.")
    if low > high:
        fail("--from is after --to.")
    with _database(db_url):
        result = run_trace(sub, issuer, low, high, window_min)
        audit_command("trace", {"sub": sub.lower(), "issuer": issuer, "from": low.isoformat(),
                                "to": high.isoformat(), "window_min": window_min},
                      count=len(result["visits"]) + len(result["contacts"]))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"{len(result['visits'])} visit(s), {len(result['contacts'])} contact(s)")
    for visit in result["visits"]:
        click.echo(f"visit  {visit['scanned_at']}  {visit['venue_id']}  {visit['decision']}")
    for contact in result["contacts"]:
        click.echo(f"contact  {contact['scanned_at']}  {contact['venue_id']}  "
                   f"{contact['issuer']}/{contact['sub']}  {contact['minutes_apart']} min")


# --- retention -----------------------------------------------------------------------------------

@collector.command("drop-before")
@click.argument("when")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def drop_before(when: str, db_url: str) -> None:
    """Retention: delete the records scanned before WHEN (whole months on PostgreSQL)."""
    from gate.collector import partitions
    from gate.collector.audit import audit_command
    from gate.collector.tracing import parse_time

    try:
        cutoff = parse_time(when)
    except ValueError as exc:
        fail(f"{exc}.")
    with _database(db_url) as alias:
        dropped = partitions.drop_before(alias, cutoff)
        audit_command("records.retention", {"before": cutoff.isoformat(), "dropped": dropped})
    click.echo(f"records before {cutoff.isoformat()} removed"
               + (f" ({', '.join(dropped)})" if dropped else ""))


@collector.command("drop-after")
@click.argument("when")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def drop_after(when: str, db_url: str) -> None:
    """Delete the records scanned after WHEN (whole months on PostgreSQL): the far-future months
    a collector made before it refused implausible times."""
    from gate.collector import partitions
    from gate.collector.audit import audit_command
    from gate.collector.tracing import parse_time

    try:
        cutoff = parse_time(when)
    except ValueError as exc:
        fail(f"{exc}.")
    with _database(db_url) as alias:
        dropped = partitions.drop_after(alias, cutoff)
        audit_command("records.drop_after", {"after": cutoff.isoformat(), "dropped": len(dropped)})
    click.echo(f"records after {cutoff.isoformat()} removed ({len(dropped)} month partitions)")


collector.add_command(venue_card)
