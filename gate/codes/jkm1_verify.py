"""JKM1 as a format of the registry (gate.codes.formats): offline verification of a JKM1 code,
in the order of health-code.md §4, and the `JKM1` format object.

`verify()` never raises: whatever arrives, it returns a `VerifyResult` with exactly one reason.
The algorithm is always the trust list's; the code's own `alg` is only compared with it. The
container (text, COSE, claims) is gate.codes.jkm1's.
"""

from __future__ import annotations

import logging
import math

from gate.codes import jkm1
from gate.codes import keys as keylib
from gate.codes.base45 import base45_well_formed
from gate.codes.cose import ALG_IDS
from gate.codes.formats import DEFAULT_SKEW_S, CodeKind, TrustSource
from gate.codes.jkm1 import ParsedCode, parse_text
from gate.codes.result import REASONS, STATUS_NAMES, FormatError, VerifyResult
from gate.codes.text import shown_or_none
from gate.codes.trust import TrustedKey

log = logging.getLogger(__name__)

# The checks of §4 after parsing, in order: a candidate key that fails later got further.
_ORDER = (*REASONS[REASONS.index("key_revoked"):REASONS.index("validity_too_long") + 1], "ok")


def verify(text: str | bytes, trust: TrustSource, now: float, skew: int = DEFAULT_SKEW_S) -> VerifyResult:
    """Judge one QR text against the lists in force at time `now` (seconds since the epoch).

    A `now` that is not a finite number (NaN, infinity, not a number at all) is `bad_input`:
    every comparison with NaN is false, which would pass an expired code.
    """
    if not _finite_number(now) or not _finite_number(skew):
        return VerifyResult.refused("bad_input")
    try:
        return _verify(text, trust, now, skew)
    except FormatError as exc:
        # a text that is not JKM1 at all was read by no format; anything else was JKM1's to judge
        return VerifyResult.refused(exc.reason, None if exc.reason == "not_a_health_code" else FORMAT_NAME)
    # The last line of defence for the gate: an unforeseen fault on hostile input must become a
    # refusal, never an exception that could take the kiosk down or be mistaken for a pass.
    except Exception:  # noqa: BLE001
        log.exception("verification fault; code refused as malformed")
        return VerifyResult.refused("malformed", FORMAT_NAME)


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _verify(text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
    code = parse_text(text)
    claims = code.claims
    if code.crit:
        return _refused(code, "unsupported_critical_header")
    candidates = trust.trust_list.keys.get(code.kid, ()) if trust.trust_list and code.kid is not None else ()
    if not candidates:
        return _refused(code, "unknown_key")
    revoked = trust.trust_list.revoked  # type: ignore[union-attr]
    # Looked up before the signature check, whose work leaves the CPU's caches cold for SQLite.
    entry = trust.status_of(claims.iss, claims.sub)
    if len(candidates) == 1:
        reason = _check_key(code, candidates[0], revoked, now, skew)
    else:  # keys sharing a kid: each is tried; the one that got furthest names the reason
        reason = max((_check_key(code, key, revoked, now, skew) for key in candidates), key=_ORDER.index)
    if reason != "ok":
        return _refused(code, reason)
    status = claims.status
    raised = False
    if entry is not None and entry[1] > claims.iat and entry[0] > status:
        status, raised = entry[0], True
    return VerifyResult(
        valid=True,
        reason="ok",
        status=STATUS_NAMES[status],
        issuer=claims.iss,
        sub=claims.sub.hex(),
        cti=claims.cti.hex() if claims.cti is not None else None,
        iat=claims.iat,
        exp=claims.exp,
        itinerary_risk=claims.itinerary_risk,
        home=shown_or_none(claims.home),
        name=shown_or_none(claims.name),
        status_raised=raised,
        format=FORMAT_NAME,
    )


def _check_key(code: ParsedCode, key: TrustedKey, revoked: frozenset[bytes], now: float, skew: int) -> str:
    """Steps 4-11 of §4 against one candidate key: 'ok' or the first failing reason."""
    claims = code.claims
    if key.kid in revoked:
        return "key_revoked"
    if key.alg not in jkm1.ALGORITHMS or code.alg != ALG_IDS[key.alg] or type(code.alg) is not int:
        return "alg_mismatch"
    if not keylib.verify_signature(key.public_key, key.alg, code.signature, code.signed_bytes()):
        return "bad_signature"
    if claims.iss != key.issuer:
        return "issuer_mismatch"
    if not key.not_before <= claims.iat <= key.not_after:
        return "key_expired"
    if claims.iat - skew > now:
        return "not_yet_valid"
    if now > claims.exp + skew:
        return "expired"
    if claims.exp - claims.iat > key.max_validity_s:
        return "validity_too_long"
    return "ok"


def _refused(code: ParsedCode, reason: str) -> VerifyResult:
    """An invalid result that still names what the code claimed, for the record and the attendant."""
    claims = code.claims
    return VerifyResult(
        valid=False,
        reason=reason,
        issuer=shown_or_none(claims.iss),  # not vouched for by any trusted key
        sub=claims.sub.hex(),
        cti=claims.cti.hex() if claims.cti is not None else None,
        iat=claims.iat,
        exp=claims.exp,
        format=FORMAT_NAME,
    )


FORMAT_NAME = "JKM1"


class Jkm1Format:
    """`JKM1:` + base45 of a (zlib-compressed) COSE_Sign1 with the claims of health-code.md §3."""

    name = FORMAT_NAME
    prefix = jkm1.PREFIX
    kind = CodeKind.HEALTH_CODE
    max_text_chars = jkm1.MAX_TEXT_CHARS
    algorithms = jkm1.ALGORITHMS
    key_types = jkm1.KEY_TYPES

    def well_formed(self, text: str) -> bool:
        """Base45 after the prefix, of a length base45 can have, within the text limit."""
        return len(text) <= self.max_text_chars and base45_well_formed(text[len(self.prefix):])

    def parse(self, text: str | bytes) -> ParsedCode:
        """The COSE_Sign1 and its claims; raises FormatError with the spec's reason."""
        return parse_text(text)

    def verify(self, text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
        """health-code.md §4, in order; never raises."""
        return verify(text, trust, now, skew)


JKM1 = Jkm1Format()
