"""`gate code issue`: make a signed health code (issuer side, for tests, demos and pilots)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import click

from gate.cli.errors import fail
from gate.codes import keys as keylib
from gate.codes.issue import STATUS_CODES, Issuer, make_code


@click.group()
def code() -> None:
    """Health codes, as an issuing platform makes them."""


@code.command("issue")
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The issuer's private key (PEM); its type sets the algorithm.")
@click.option("--issuer", required=True, help="Issuer id, as in the trust list (e.g. CN-JX).")
@click.option("--status", type=click.Choice(sorted(STATUS_CODES, key=STATUS_CODES.get)), required=True)
@click.option("--sub", default=None, help="Subject pseudonym, 32 hex digits.")
@click.option("--subject", default=None, help="Or: any text, hashed into a stable pseudonym (demos).")
@click.option("--iat", type=int, default=None, help="Issued at (seconds since 1970). Default: now.")
@click.option("--valid-for", type=click.IntRange(1), default=86400, show_default=True, help="Seconds until expiry.")
@click.option("--itinerary", is_flag=True, help="Set the itinerary mark (stay in a medium/high-risk area).")
@click.option("--home", default=None, help="Home community code, e.g. 360102-012.")
@click.option("--name", default=None, help="Masked name for the attendant, e.g. 张*明.")
@click.option("--reason-category", type=click.IntRange(0, 12), default=None, help="hc.rs, health-code.md §6.")
@click.option("--uncompressed", is_flag=True, help="Leave out zlib (allowed by the spec).")
def issue(key_path: Path, issuer: str, status: str, sub: str | None, subject: str | None, iat: int | None,
          valid_for: int, itinerary: bool, home: str | None, name: str | None, reason_category: int | None,
          uncompressed: bool) -> None:
    """Print the QR text of a new signed code."""
    if (sub is None) == (subject is None):
        fail("Give exactly one of --sub (32 hex digits) or --subject (any text).")
    if sub is not None:
        try:
            sub_bytes = bytes.fromhex(sub)
        except ValueError:
            sub_bytes = b""
        if len(sub_bytes) != 16:
            fail("--sub must be 32 hex digits (16 bytes).")
    else:
        sub_bytes = hashlib.sha256(f"{issuer}/{subject}".encode()).digest()[:16]
    try:
        private_key = keylib.load_private_key(key_path)
    except ValueError as exc:
        fail(str(exc))
    issued = int(time.time()) if iat is None else iat
    click.echo(make_code(Issuer(issuer, private_key), sub_bytes, status, issued, issued + valid_for,
                         itinerary_risk=itinerary or None, home=home, name=name,
                         reason_category=reason_category, compress=not uncompressed))
