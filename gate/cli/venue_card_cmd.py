"""`gate collector venue-card`: print a venue card (directives.md) with the collector's directive key."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gate.cli.collector_db import DB_HELP, DEFAULT_DB, database
from gate.cli.errors import fail
from gate.codes import keys as keylib
from gate.config import VENUE_TYPES


@click.command("venue-card")
@click.option("--venue-id", required=True, help="The venue id the gate takes, e.g. 360102-012-north-gate.")
@click.option("--type", "venue_type", required=True, type=click.Choice(VENUE_TYPES), help="The venue type.")
@click.option("--community", "communities", multiple=True, metavar="CODE", help="A community code; repeat for each.")
@click.option("--device", "devices", multiple=True, metavar="ID", help="A gate the card is for; none: any gate.")
@click.option("--days", type=click.FloatRange(0.01, 30.0), default=7.0, show_default=True, help="Validity (at most 30).")
@click.option("--key", "--directive-key", "key_path", type=click.Path(path_type=Path, dir_okay=False), default="directive.key",
              show_default=True, envvar="GATE_DIRECTIVE_KEY", help="The collector's directive key.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="card.png or card.pdf")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP + " (where the card is audited)")
def venue_card(venue_id: str, venue_type: str, communities: tuple[str, ...], devices: tuple[str, ...], days: float,
               key_path: Path, out: Path, db_url: str) -> None:
    """Make a printable venue card that sets a gate's venue when shown to its camera."""
    from gate.directives.card_image import save_card
    from gate.directives.venue_card import CardRefused, card_claims, make_card

    try:
        key = keylib.load_private_key(key_path)
    except (OSError, ValueError) as exc:
        fail(f"{key_path}: cannot load the directive key ({exc}); make one with `gate keys new directive`")
    try:
        text = make_card(key, venue_id, venue_type, community_codes=communities, device_ids=devices,
                         issued_at=int(time.time()), days=days)
    except ValueError as exc:
        fail(str(exc))
    try:
        card = card_claims(text)
    except CardRefused as exc:
        fail(f"a gate would refuse this card: {exc}")
    try:
        save_card(text, card, out)
    except OSError as exc:
        fail(f"{out}: cannot be written ({exc.strerror or exc})")
    from gate.collector.audit import audit_command

    with database(db_url):  # a card is a change to a gate: audited as the console's are
        audit_command("venue_card.issue", {
            "card_id": card.card_id.hex(), "venue_id": card.venue_id, "venue_type": card.venue_type,
            "community_codes": list(card.community_codes), "device_ids": list(card.device_ids),
            "issued_at": card.issued_at, "expires_at": card.expires_at, "format": out.suffix.lstrip(".").lower(),
            "out": str(out)})
    click.echo(f"wrote {out}: venue {venue_id} ({venue_type}), valid {days:g} days"
               + (f", for {', '.join(devices)}" if devices else ", for any gate"))
