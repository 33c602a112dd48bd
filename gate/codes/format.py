"""The JKM1 container (health-code.md §1-3): QR text <-> COSE_Sign1 <-> claims.

Everything here reads untrusted bytes. Parsing never raises: it returns either a `ParsedCode` or
a `FormatError` carrying one reason of the spec (`not_a_health_code`, `too_large`, `malformed`).
The work done is bounded by the text limit (4096 characters) and the decompression limit (8192
bytes), and the CBOR decoder runs with a small nesting limit and no semantic tag decoding.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from gate.errors import GateError

PREFIX = "JKM1:"
MAX_TEXT_CHARS = 4096
MAX_COSE_BYTES = 8192
COSE_SIGN1_TAG = 18

# COSE header labels (RFC 9052) and CWT claim keys (RFC 8392) used by JKM1.
HDR_ALG = 1
HDR_CRIT = 2
HDR_KID = 4
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

ALG_EDDSA = -8
ALG_ES256 = -7
ALG_NAMES = {ALG_EDDSA: "EdDSA", ALG_ES256: "ES256"}
ALG_IDS = {name: ident for ident, name in ALG_NAMES.items()}

# RFC 9285's alphabet, which is also the QR code's alphanumeric mode (the one definition in the gate).
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# byte -> base45 value, 255 for bytes outside the alphabet
_BASE45_TABLE = bytes(BASE45_ALPHABET.index(chr(b)) if chr(b) in BASE45_ALPHABET else 255 for b in range(256))

# For bytes.translate(None, delete): what is left after deleting digits below 32 / up to 32.
_BELOW_32 = bytes(range(32))
_UP_TO_32 = bytes(range(33))

_MAX_CBOR_DEPTH = 8


class FormatError(GateError):
    """A code that cannot be read; `reason` is one of the spec's reasons."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


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


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """CBOR of ["Signature1", protected, h'', payload], written directly (it is on every scan)."""
    return b"".join((_SIG1_PREFIX, _bstr_head(len(protected)), protected, b"\x40", _bstr_head(len(payload)), payload))


_SIG1_PREFIX = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"


def _bstr_head(length: int) -> bytes:
    """The CBOR head of a byte string of `length` bytes (major type 2, shortest form)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


def b45decode(text: str) -> bytes:
    """Strict base45 (RFC 9285 §4.2 and §6): raises FormatError('malformed') on any fault.

    A Python loop over the triplets would cost half a signature check, so the work is done by
    C loops: the characters become digit values with one `translate`, and the digits of all
    triplets are summed at once as three big integers with one 16-bit slot per triplet.
    """
    try:
        values = text.encode("ascii").translate(_BASE45_TABLE)
    except UnicodeEncodeError:
        raise FormatError("malformed", "character outside the base45 alphabet") from None
    n = len(values)
    if n % 3 == 1:
        raise FormatError("malformed", "base45 has a dangling character")
    if values.find(0xFF) >= 0:
        raise FormatError("malformed", "character outside the base45 alphabet")
    full = n - n % 3
    firsts, seconds, thirds = values[0:full:3], values[1:full:3], values[2:full:3]
    if thirds.translate(None, _BELOW_32) and _triplet_overflows(firsts, seconds, thirds):
        raise FormatError("malformed", "base45 triplet above 65535")
    slots = bytearray(2 * len(thirds))
    slots[1::2] = firsts
    number = int.from_bytes(slots, "big")
    slots[1::2] = seconds
    number += 45 * int.from_bytes(slots, "big")
    slots[1::2] = thirds
    number += 2025 * int.from_bytes(slots, "big")
    out = number.to_bytes(len(slots), "big")
    if full != n:
        last = values[-2] + values[-1] * 45
        if last > 0xFF:
            raise FormatError("malformed", "base45 final pair above 255")
        out += bytes((last,))
    return out


def _triplet_overflows(firsts: bytes, seconds: bytes, thirds: bytes) -> bool:
    """True when a triplet's value c + 45 d + 2025 e passes 65535.

    A third digit below 32 never does (31 * 2025 + 44 * 46 < 65536), one above 32 always
    does, so only the triplets whose third digit is exactly 32 need their sum.
    """
    if thirds.translate(None, _UP_TO_32):  # a digit above 32 (a C loop; max() would box each byte)
        return True
    at = thirds.find(32)
    while at >= 0:
        if firsts[at] + 45 * seconds[at] > 0xFFFF - 32 * 2025:
            return True
        at = thirds.find(32, at + 1)
    return False


def base45_well_formed(body: str) -> bool:
    """Whether `body` could be base45 at all: non-empty, every character in the alphabet, and a
    length base45 can have (not 1 more than a multiple of 3). Cheaper than decoding; no value checks."""
    if not body or len(body) % 3 == 1:
        return False
    try:
        return body.encode("ascii").translate(_BASE45_TABLE).find(0xFF) < 0
    except UnicodeEncodeError:
        return False


def b45encode(data: bytes) -> str:
    """base45 (RFC 9285 §4)."""
    alphabet = BASE45_ALPHABET
    out = []
    for i in range(0, len(data) - 1, 2):
        x = data[i] * 256 + data[i + 1]
        e, x = divmod(x, 2025)
        d, c = divmod(x, 45)
        out.append(alphabet[c] + alphabet[d] + alphabet[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(alphabet[c] + alphabet[d])
    return "".join(out)


def inflate(data: bytes) -> bytes:
    """zlib-decompress at most MAX_COSE_BYTES; uncompressed COSE (no 0x78 header) passes as is."""
    if not data or data[0] != 0x78:
        if len(data) > MAX_COSE_BYTES:
            raise FormatError("too_large", "COSE message over 8192 bytes")
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES + 1)
    except zlib.error as exc:
        raise FormatError("malformed", f"zlib: {exc}") from None
    if len(out) > MAX_COSE_BYTES:
        raise FormatError("too_large", "decompresses past 8192 bytes")
    if not inflater.eof:
        raise FormatError("malformed", "zlib stream is truncated")
    return out


def _refuse_tag(decoder: object) -> Any:
    raise FormatError("malformed", "semantic CBOR tag where none belongs")


# Tags cbor2 would otherwise decode into rich objects (regex, MIME, decimal, dates, ...): none
# belongs in a health code, and refusing them keeps decoding plain and cheap.
_SEMANTIC_REFUSALS = {
    tag: _refuse_tag
    for tag in (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 256, 258, 260, 261, 55799)
}


def cbor_loads(data: bytes) -> Any:
    """CBOR-decode untrusted bytes with tight limits; FormatError('malformed') on any fault."""
    try:
        return cbor2.loads(
            data,
            max_depth=_MAX_CBOR_DEPTH,
            allow_duplicate_keys=False,
            semantic_decoders=_SEMANTIC_REFUSALS,
        )
    except FormatError:
        raise
    # cbor2 signals bad input with several exception types (CBORDecodeError, ValueError,
    # TypeError for unhashable keys, RecursionError, OverflowError); all mean "not readable".
    except Exception as exc:  # noqa: BLE001
        raise FormatError("malformed", f"CBOR: {type(exc).__name__}") from None


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
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:
        raise FormatError("malformed", "COSE_Sign1 must be an array of four")
    protected, unprotected, payload, signature = obj
    if type(protected) is not bytes or (type(unprotected) is not dict and not isinstance(unprotected, Mapping)):
        raise FormatError("malformed", "COSE headers have the wrong types")
    if type(payload) is not bytes or type(signature) is not bytes:
        raise FormatError("malformed", "COSE payload or signature is not a byte string")
    header = cbor_loads(protected) if protected else {}
    if type(header) is not dict and not isinstance(header, Mapping):
        raise FormatError("malformed", "protected header is not a map")
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
        protected=protected,
        payload=payload,
        signature=signature,
        claims=parse_claims(payload),
    )


def parse_text(text: str | bytes) -> ParsedCode:
    """QR text to a ParsedCode; FormatError with the spec's reason otherwise."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("not_a_health_code", "not UTF-8 text") from None
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise FormatError("not_a_health_code", "no JKM1: prefix")
    if len(text) > MAX_TEXT_CHARS:
        raise FormatError("too_large", "QR text over 4096 characters")
    body = text[len(PREFIX) :]
    if not body:
        raise FormatError("malformed", "nothing after the prefix")
    return parse_cose(inflate(b45decode(body)))


def encode_text(cose: bytes, compress: bool = True) -> str:
    """COSE_Sign1 bytes to QR text (the issuer side)."""
    data = zlib.compress(cose, 9) if compress else cose
    return PREFIX + b45encode(data)
