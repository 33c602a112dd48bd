"""JKM1, the gate's own health code (health-code.md), as a format of the registry (gate.codes.formats).

Its parts stay where they are: gate.codes.format reads the container, gate.codes.verify judges it.
This object only puts them behind the interface every format shares.
"""

from __future__ import annotations

from typing import Any

from gate.codes import format as jkm1_format
from gate.codes import verify as jkm1_verify
from gate.codes.formats import CodeKind
from gate.codes.result import VerifyResult


class Jkm1Format:
    """`JKM1:` + base45 of a (zlib-compressed) COSE_Sign1 with the claims of health-code.md §3."""

    name = "JKM1"
    prefix = jkm1_format.PREFIX
    kind = CodeKind.HEALTH_CODE

    def well_formed(self, text: str) -> bool:
        """Base45 after the prefix, of a length base45 can have, within the text limit."""
        return len(text) <= jkm1_format.MAX_TEXT_CHARS and jkm1_format.base45_well_formed(text[len(self.prefix):])

    def parse(self, text: str | bytes) -> jkm1_format.ParsedCode:
        """The COSE_Sign1 and its claims; raises gate.codes.format.FormatError with the spec's reason."""
        return jkm1_format.parse_text(text)

    def verify(self, text: str | bytes, trust: Any, now: float, skew: int) -> VerifyResult:
        """health-code.md §4, in order; never raises."""
        return jkm1_verify.verify(text, trust, now, skew)


JKM1 = Jkm1Format()
