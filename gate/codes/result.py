"""What a code format found: the verifier's answer for one code, a plain value that the rules,
the record and the CLI share, whatever the format (JKM1, and credentials such as the EU DCC or a
SMART Health Card), and the one error a format's reader raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import GateError
from gate.vocabulary import CODE_STATUSES as STATUS_NAMES  # health-code.md §3, by the status number
from gate.vocabulary import VERIFIER_REASONS as REASONS  # health-code.md §4, in check order


class FormatError(GateError):
    """A code that cannot be read; `reason` is one of the verifier's reasons (REASONS)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def qr_body(text: str | bytes, prefix: str, max_chars: int) -> str:
    """What follows `prefix` in a QR text of at most `max_chars` characters: the first step of
    every format's reader. FormatError (not_a_health_code, too_large) otherwise."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("not_a_health_code", "not UTF-8 text") from None
    if not isinstance(text, str) or not text.startswith(prefix):
        raise FormatError("not_a_health_code", f"no {prefix} prefix")
    if len(text) > max_chars:
        raise FormatError("too_large", f"QR text over {max_chars} characters")
    return text[len(prefix):]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Whether a code is genuine, current and trusted, and what it says (health-code.md §4).

    What every format fills: `valid`, `reason` (one of REASONS, or a format's own reason),
    `format` (the format's name, e.g. "JKM1"; None when no format read it), `issuer` and `sub`
    (the subject: the format's pseudonymous id of the person, hex). `status` is the colour
    (after the status list) for a format that has colours (JKM1), else None; `fields` holds a
    format's own findings (a DCC's `cert_type`, an SHC's immunizations), for the venue rules and
    the record. The remaining fields are JKM1's claims.
    """

    valid: bool
    reason: str
    status: str | None = None
    issuer: str | None = None
    sub: str | None = None
    cti: str | None = None
    iat: int | None = None
    exp: int | None = None
    itinerary_risk: bool = False
    home: str | None = None
    name: str | None = None
    status_raised: bool = False
    format: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # What a credential's acceptance rules read (credentials.md: the hcert, or an SHC normalised to
    # its shape); never printed or recorded (it holds the person's name).
    payload: Mapping[str, Any] | None = field(default=None, hash=False, compare=False, repr=False)

    @classmethod
    def refused(cls, reason: str, format: str | None = None) -> "VerifyResult":
        """An invalid result with one reason from REASONS."""
        return cls(valid=False, reason=reason, format=format)

    @property
    def subject(self) -> str | None:
        """The person the code is about, as the format names them (a pseudonym, hex)."""
        return self.sub

    def to_json(self) -> dict[str, Any]:
        """The JSON object of `gate verify` (cli.md): absent values left out; a format other than
        JKM1 adds `format` and its own fields."""
        if not self.valid:
            out: dict[str, Any] = {"valid": False, "reason": self.reason}
            for key in ("issuer", "sub", "cti", "iat", "exp"):
                value = getattr(self, key)
                if value is not None:
                    out[key] = value
            return self._with_format(out)
        out = {
            "valid": True,
            "reason": self.reason,
            "status": self.status,
            "issuer": self.issuer,
            "sub": self.sub,
            "cti": self.cti,
            "iat": self.iat,
            "exp": self.exp,
            "itinerary_risk": self.itinerary_risk,
            "status_raised": self.status_raised,
        }
        if self.home is not None:
            out["home"] = self.home
        if self.name is not None:
            out["name"] = self.name
        return self._with_format(out)

    def _with_format(self, out: dict[str, Any]) -> dict[str, Any]:
        if self.format is not None and self.format != "JKM1":  # cli.md's JKM1 output stays as it is
            out["format"] = self.format
            for key, value in self.fields.items():
                out.setdefault(key, value)
        return out
