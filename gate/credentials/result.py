"""What the verifier of a DCC or SHC found: one plain value for the seam, the rules and the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CredentialResult:
    """A DCC's or SHC's verdict (credentials.md).

    `valid` with reason `ok`, or invalid with one verifier reason. A valid result carries the
    format, the issuer (`DCC-<country>` or `SHC:<host>`), the certificate type (`v`, `t`, `r`),
    the holder's pseudonym `sub`, the shown name, and `payload`: the hcert-shaped object the
    CertLogic rules read. It is not a colour: acceptance is decided by the venue's rules.
    """

    valid: bool
    reason: str
    format: str
    issuer: str | None = None
    cert_type: str | None = None
    sub: str | None = None
    iat: int | None = None
    exp: int | None = None
    name: str | None = None
    payload: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def refused(cls, fmt: str, reason: str, **known: Any) -> "CredentialResult":
        """An invalid result with one reason, keeping what the credential claimed (not vouched for)."""
        return cls(valid=False, reason=reason, format=fmt, **known)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of `gate verify` for a credential: no colour (`status` null)."""
        out: dict[str, Any] = {"valid": self.valid, "reason": self.reason, "format": self.format}
        if self.valid:
            out["status"] = None
        for key in ("cert_type", "issuer", "sub", "iat", "exp", "name"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out
