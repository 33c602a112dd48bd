"""COSE_Sign1 (RFC 9052) as the gate reads it from untrusted bytes: JKM1, venue cards, EU DCCs.

Bounded work: `inflate` stops at a stated limit, `cbor_loads` runs with a small nesting limit and
refuses semantic tags, and every fault is `FormatError` with a health-code.md reason. The COSE
algorithm ids of the signature schemes the gate knows are here once (`ALG_IDS`); which of them a
format accepts is the format's to declare.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from gate.codes.result import FormatError

COSE_SIGN1_TAG = 18
MAX_COSE_BYTES = 8192  # health-code.md and credentials.md: what a code may inflate to

# COSE header labels (RFC 9052).
HDR_ALG = 1
HDR_CRIT = 2
HDR_KID = 4

# COSE algorithm ids (IANA "COSE Algorithms") of the signature schemes gate.codes.keys verifies.
ALG_IDS: dict[str, int] = {"EdDSA": -8, "ES256": -7, "ES384": -35, "PS256": -37}
ALG_NAMES: dict[int, str] = {ident: name for name, ident in ALG_IDS.items()}

_MAX_CBOR_DEPTH = 8


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


def inflate(data: bytes, limit: int = MAX_COSE_BYTES, *, required: bool = False) -> bytes:
    """zlib-decompress at most `limit` bytes (`too_large` past it).

    Data without a zlib header (0x78) passes as is, unless `required` (a DCC must be compressed),
    when it is `malformed`.
    """
    if not data or data[0] != 0x78:
        if required:
            raise FormatError("malformed", "not zlib-compressed")
        if len(data) > limit:
            raise FormatError("too_large", f"COSE message over {limit} bytes")
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise FormatError("malformed", f"zlib: {exc}") from None
    if len(out) > limit:
        raise FormatError("too_large", f"decompresses past {limit} bytes")
    if not inflater.eof:
        raise FormatError("malformed", "zlib stream is truncated")
    return out


def _refuse_tag(decoder: object) -> Any:
    raise FormatError("malformed", "semantic CBOR tag where none belongs")


# Tags cbor2 would otherwise decode into rich objects (regex, MIME, decimal, dates, ...): none
# belongs in a signed code, and refusing them keeps decoding plain and cheap.
_SEMANTIC_REFUSALS = {
    tag: _refuse_tag
    for tag in (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 256, 258, 260, 261, 55799)
}


def cbor_loads(data: bytes, max_depth: int = _MAX_CBOR_DEPTH) -> Any:
    """CBOR-decode untrusted bytes with tight limits; FormatError('malformed') on any fault."""
    try:
        return cbor2.loads(
            data,
            max_depth=max_depth,
            allow_duplicate_keys=False,
            semantic_decoders=_SEMANTIC_REFUSALS,
        )
    except FormatError:
        raise
    # cbor2 signals bad input with several exception types (CBORDecodeError, ValueError,
    # TypeError for unhashable keys, RecursionError, OverflowError); all mean "not readable".
    except Exception as exc:  # noqa: BLE001
        raise FormatError("malformed", f"CBOR: {type(exc).__name__}") from None


@dataclass(slots=True)
class Sign1:
    """A COSE_Sign1 taken apart, headers decoded, nothing verified."""

    protected: bytes
    header: Mapping  # the protected header, decoded
    unprotected: Mapping
    payload: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The Sig_structure of RFC 9052 §4.4 that the signature covers."""
        return sig_structure(self.protected, self.payload)


def decode_sign1(obj: Any) -> Sign1:
    """A COSE_Sign1 from its decoded CBOR (the tag already taken off by the caller's rules)."""
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
    return Sign1(protected, header, unprotected, payload, signature)
