"""`gate verify`: judge QR texts offline against a trust folder (cli.md)."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import click

from gate.cli.errors import fail
from gate.codes.formats import DEFAULT_SKEW_S
from gate.codes.formats import verify as verify_code
from gate.codes.trust import STATUS_FILE, TRUST_FILE, TrustError, TrustStore

BAD_INPUT = {"valid": False, "reason": "bad_input"}


def open_trust(trust_dir: Path, no_status_list: bool = False) -> TrustStore:
    """The trust store of a folder, read only (state kept in memory); exit 2 when unusable.

    Unusable (cli.md): no anchor, no trust list that verifies, or no status list that verifies
    unless `no_status_list` (then the caller marks every result "status_list": "missing").
    """
    try:
        store = TrustStore(trust_dir)
    except (TrustError, ValueError, OSError) as exc:
        fail(f"Cannot use the trust folder {trust_dir}: {exc}")
    if store.trust_list is None:
        why = store.file_errors.get(TRUST_FILE, f"{TRUST_FILE} is absent")
        fail(f"Cannot use the trust folder {trust_dir}: no trust list in force ({why})")
    if not store.status_in_force and not no_status_list:
        why = store.file_errors.get(STATUS_FILE, f"{STATUS_FILE} is absent")
        fail(f"Cannot use the trust folder {trust_dir}: no status list in force ({why}); "
             "a raised status cannot be seen: give --no-status-list to verify without one")
    for problem in store.load_errors:
        click.echo(f"warning: {problem}", err=True)
    return store


def judge(qr: str, store: TrustStore, now: float, skew: int) -> dict:
    """One code's output object; "status_list": "missing" when it was judged without a status list."""
    out = verify_code(qr, store, now, skew).to_json()
    if not store.status_in_force:
        out["status_list"] = "missing"
    return out


def judge_line(line: str, store: TrustStore, default_now: float, skew: int) -> dict:
    """One --jsonl input line to its output object; anything but {"qr": str, "now"?: finite number} is bad_input."""
    try:
        event = json.loads(line)
    except ValueError:
        return BAD_INPUT
    if not isinstance(event, dict) or not isinstance(event.get("qr"), str):
        return BAD_INPUT
    now = event.get("now", default_now)
    if type(now) not in (int, float) or not math.isfinite(now):
        return BAD_INPUT
    return judge(event["qr"], store, now, skew)


@click.command()
@click.option("--trust", "trust_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder with anchors/*.pem, trustlist.json(.sig) and statuslist.json(.sig).")
@click.option("--now", type=float, default=None, help="Verify at this time (seconds since 1970) instead of the clock.")
@click.option("--skew", type=click.IntRange(0, 86400), default=DEFAULT_SKEW_S, show_default=True,
              help="Clock skew allowed, in seconds.")
@click.option("--jsonl", is_flag=True, help='Read {"qr": ..., "now": ...} lines on stdin; one result line each.')
@click.option("--no-status-list", is_flag=True,
              help='Verify even without a status list in force; each result then says "status_list": "missing".')
@click.argument("qr_text", required=False)
def verify(trust_dir: Path, now: float | None, skew: int, jsonl: bool, no_status_list: bool,
           qr_text: str | None) -> None:
    """Verify a health code (or a stream of them) and print the result as JSON."""
    if jsonl == (qr_text is not None):
        fail("Give either a QR_TEXT or --jsonl with codes on stdin.")
    store = open_trust(trust_dir, no_status_list)
    default_now = time.time() if now is None else now
    if qr_text is not None:
        click.echo(json.dumps(judge(qr_text, store, default_now, skew), ensure_ascii=False))
        return
    out = sys.stdout
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        out.write(json.dumps(judge_line(line, store, default_now, skew), ensure_ascii=False) + "\n")
        out.flush()
