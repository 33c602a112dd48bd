"""The verifier's answer for one code: a plain value that the rules, the record and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# health-code.md §4: every reason a verification can end with, in check order.
REASONS: tuple[str, ...] = (
    "ok",
    "not_a_health_code",
    "too_large",
    "malformed",
    "unsupported_critical_header",
    "unknown_key",
    "key_revoked",
    "alg_mismatch",
    "bad_signature",
    "issuer_mismatch",
    "key_expired",
    "not_yet_valid",
    "expired",
    "validity_too_long",
    "bad_input",  # not a code to judge at all: a `now` that is not a finite number (cli.md)
)

STATUS_NAMES: tuple[str, ...] = ("green", "yellow", "red")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Whether a code is genuine, current and trusted, and what it says (health-code.md §4).

    `status` is the effective status (after the status list), or None when the code is invalid.
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

    @classmethod
    def refused(cls, reason: str) -> "VerifyResult":
        """An invalid result with one reason from REASONS."""
        return cls(valid=False, reason=reason)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of `gate verify` (cli.md): absent values left out."""
        if not self.valid:
            out: dict[str, Any] = {"valid": False, "reason": self.reason}
            for key in ("issuer", "sub", "cti", "iat", "exp"):
                value = getattr(self, key)
                if value is not None:
                    out[key] = value
            return out
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
        return out
