"""JKMV1, the venue card (directives.md "Venue card"), as a format of the registry: routing only.

A venue card is not a person's scan, so the gate must tell it apart from a health code by its
prefix before anything is verified. This object gives the registry its prefix, kind and syntax
check (base45 after `JKMV1:`, like a health code). Reading and verifying a card against the
directive keys is gate.directives.venue_card's; the kiosk sends every text of this kind to
gate.kiosk.venue_cards, never to the decision path.
"""

from __future__ import annotations

from gate.codes.base45 import base45_well_formed
from gate.codes.formats import CodeKind

PREFIX = "JKMV1:"


class Jkmv1Format:
    """`JKMV1:` + base45 of a COSE_Sign1 whose payload is a venue card."""

    name = "JKMV1"
    prefix = PREFIX
    kind = CodeKind.VENUE_CARD
    max_text_chars = 4096  # directives.md: as a health code

    def well_formed(self, text: str) -> bool:
        """Base45 after the prefix, of a length base45 can have, within the text limit."""
        return len(text) <= self.max_text_chars and base45_well_formed(text[len(self.prefix):])


JKMV1 = Jkmv1Format()
