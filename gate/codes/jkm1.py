"""The JKM1 container (health-code.md §1-3): QR text <-> COSE_Sign1 <-> claims.

Everything here reads untrusted bytes. Parsing never raises anything but a `FormatError` carrying
one reason of the spec (`not_a_health_code`, `too_large`, `malformed`). The work done is bounded
by the text limit (4096 characters) and the decompression limit (8192 bytes); base45 and COSE are
read by gate.codes.base45 and gate.codes.cose. Judging a parsed code is gate.codes.jkm1_verify's.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from gate.codes.base45 import b45decode, b45encode
from gate.codes.cose import COSE_SIGN1_TAG, HDR_ALG, HDR_CRIT, HDR_KID, cbor_loads, decode_sign1, inflate, sig_structure
from gate.codes.result import FormatError, qr_body

PREFIX = "JKM1:"
MAX_TEXT_CHARS = 4096

# CWT claim keys (RFC 8392) used by JKM1.
CLAIM_ISS = 1
CLAIM_SUB = 2
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_CTI = 7
CLAIM_HC = -70001
HC_ST = 1
HC_RS = 2
HC_TRV = 3
HC_RES = 4
HC_NM = 5

# The signature algorithms JKM1 allows (health-code.md §2) and the key types they run on.
ALGORITHMS: frozenset[str] = frozenset({"EdDSA", "ES256"})
KEY_TYPES: frozenset[str] = frozenset({"Ed25519", "P-256"})


# Not frozen: a frozen dataclass's __init__ costs microseconds per field, on every scan.
@dataclass(slots=True)
class Claims:
    """The claims of a code (health-code.md §3), types already checked."""

    iss: str
    sub: bytes
    exp: int
    iat: int
    cti: bytes | None
    status: int
    reason_category: int | None
    itinerary_risk: bool
    home: str | None
    name: str | None


@dataclass(slots=True)
class ParsedCode:
    """A COSE_Sign1 taken apart: what is needed to check the signature and the claims."""

    alg: Any  # the protected `alg` as found (an int when well formed); compared, never trusted
    kid: bytes | None
    crit: bool
    protected: bytes
    payload: bytes
    signature: bytes
    claims: Claims

    def signed_bytes(self) -> bytes:
        """The Sig_structure of RFC 9052 §4.4 that the signature covers."""
        return sig_structure(self.protected, self.payload)


def _int(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise FormatError("malformed", "expected an unsigned integer")
    return value


def _opt(mapping: Mapping, key: int, kind: type) -> Any:
    value = mapping.get(key)
    if value is not None and type(value) is not kind:
        raise FormatError("malformed", f"claim {key} has the wrong type")
    return value


def parse_claims(payload: bytes) -> Claims:
    """The claims map of §3, with every type checked; unknown keys ignored."""
    claims = cbor_loads(payload)
    if type(claims) is not dict and not isinstance(claims, Mapping):  # dict first: an ABC check is slow
        raise FormatError("malformed", "payload is not a map")
    hc = claims.get(CLAIM_HC)
    if type(hc) is not dict and not isinstance(hc, Mapping):
        raise FormatError("malformed", "health claim missing")
    iss = claims.get(CLAIM_ISS)
    sub = claims.get(CLAIM_SUB)
    if type(iss) is not str or not iss:
        raise FormatError("malformed", "iss missing")
    if type(sub) is not bytes or len(sub) != 16:
        raise FormatError("malformed", "sub must be 16 bytes")
    cti = _opt(claims, CLAIM_CTI, bytes)
    if cti is not None and not 8 <= len(cti) <= 16:
        raise FormatError("malformed", "cti must be 8-16 bytes")
    status = _int(hc.get(HC_ST))
    if status > 2:
        raise FormatError("malformed", "status out of range")
    rs = hc.get(HC_RS)
    return Claims(
        iss=iss,
        sub=sub,
        exp=_int(claims.get(CLAIM_EXP)),
        iat=_int(claims.get(CLAIM_IAT)),
        cti=cti,
        status=status,
        reason_category=None if rs is None else _int(rs),
        itinerary_risk=bool(_opt(hc, HC_TRV, bool)),
        home=_opt(hc, HC_RES, str),
        name=_opt(hc, HC_NM, str),
    )


def parse_cose(message: bytes) -> ParsedCode:
    """COSE_Sign1 (tagged or not) to its parts and checked claims."""
    obj = cbor_loads(message)
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise FormatError("malformed", f"CBOR tag {obj.tag} is not COSE_Sign1")
        obj = obj.value
    sign1 = decode_sign1(obj)
    header = sign1.header
    kid = header.get(HDR_KID)
    if kid is not None and type(kid) is not bytes:
        raise FormatError("malformed", "kid is not a byte string")
    crit = header.get(HDR_CRIT)
    if crit is not None and not (isinstance(crit, (list, tuple)) and crit):
        raise FormatError("malformed", "crit must be a non-empty array")
    return ParsedCode(
        alg=header.get(HDR_ALG),
        kid=kid,
        crit=crit is not None,
        protected=sign1.protected,
        payload=sign1.payload,
        signature=sign1.signature,
        claims=parse_claims(sign1.payload),
    )


def parse_text(text: str | bytes) -> ParsedCode:
    """QR text to a ParsedCode; FormatError with the spec's reason otherwise."""
    body = qr_body(text, PREFIX, MAX_TEXT_CHARS)
    if not body:
        raise FormatError("malformed", "nothing after the prefix")
    return parse_cose(inflate(b45decode(body)))


def encode_text(cose: bytes, compress: bool = True) -> str:
    """COSE_Sign1 bytes to QR text (the issuer side)."""
    data = zlib.compress(cose, 9) if compress else cose
    return PREFIX + b45encode(data)
