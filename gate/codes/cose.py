"""COSE_Sign1 as other issuers write it (RFC 9052), for the credentials the gate did not design.

The EU DCC wraps its CWT in a COSE_Sign1 that may be tagged 18, untagged, or tag 61 (CWT)
around tag 18; its key id sits in the protected header, else in the unprotected one; its
signature is ES256 in the raw r||s form or PS256 (RSASSA-PSS, SHA-256, salt 32). This module
reads such a message from untrusted bytes with tight limits and checks its signature. It never
decides anything about the claims: that is the format's job (gate.codes.dcc).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gate.errors import GateError

COSE_SIGN1_TAG = 18
CWT_TAG = 61
HDR_ALG = 1
HDR_KID = 4
ALG_ES256 = -7
ALG_PS256 = -37
PSS_SALT_LENGTH = 32
_MAX_CBOR_DEPTH = 16  # a CWT holding an hcert nests about seven deep


class ReadError(GateError):
    """A credential that cannot be read; `reason` is one of the verifier's reasons."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _refuse_tag(value: object, *_: object) -> Any:
    raise ReadError("malformed", "semantic CBOR tag where none belongs")


def _date_time_text(value: object, *_: object) -> Any:
    """Tag 0 (RFC 8949 date/time text), which some issuers put on a test's `sc`: kept as the text."""
    if type(value) is not str:
        raise ReadError("malformed", "tag 0 around something that is not text")
    return value


def _epoch_time(value: object, *_: object) -> Any:
    """Tag 1 (epoch seconds): kept as the number."""
    if type(value) not in (int, float):
        raise ReadError("malformed", "tag 1 around something that is not a number")
    return value


# cbor2 would turn these tags into rich objects (dates, regexes, decimals, MIME, sets, ...);
# none belongs in a credential, and refusing them keeps decoding plain and bounded.
_REFUSED_TAGS = (2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 256, 258, 260, 261, 55799)



_SEMANTIC_DECODERS = {0: _date_time_text, 1: _epoch_time, **{t: _refuse_tag for t in _REFUSED_TAGS}}


def cbor_loads(data: bytes) -> Any:
    """CBOR-decode untrusted bytes; ReadError('malformed') on any fault, trailing bytes included."""
    try:
        return cbor2.loads(data, max_depth=_MAX_CBOR_DEPTH, allow_duplicate_keys=False,
                           semantic_decoders=_SEMANTIC_DECODERS)
    except ReadError:
        raise
    # cbor2 reports bad input through several exception types; all mean "not readable".
    except Exception as exc:  # noqa: BLE001
        raise ReadError("malformed", f"CBOR: {type(exc).__name__}") from None


def thaw(value: Any) -> Any:
    """A decoded CBOR value as plain JSON-like Python: dicts with text keys kept, lists for arrays.

    cbor2 may hand back immutable maps and tuples; the rules read plain dicts and lists.
    """
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


def inflate_zlib(data: bytes, limit: int) -> bytes:
    """zlib-decompress at most `limit` bytes: `too_large` past it, `malformed` if not zlib or truncated."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ReadError("malformed", f"zlib: {exc}") from None
    if len(out) > limit:
        raise ReadError("too_large", f"decompresses past {limit} bytes")
    if not inflater.eof:
        raise ReadError("malformed", "zlib stream is truncated")
    return out


@dataclass(frozen=True, slots=True)
class Sign1:
    """A COSE_Sign1 taken apart: its headers, payload and signature, nothing yet trusted."""

    protected: bytes
    protected_header: Mapping[Any, Any]
    unprotected_header: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> Any:
        """The protected `alg`, else the unprotected one (some issuers put it there), as found."""
        alg = self.protected_header.get(HDR_ALG)
        return self.unprotected_header.get(HDR_ALG) if alg is None else alg

    @property
    def kid(self) -> bytes | None:
        """The protected kid, else the unprotected one (a wrong protected kid is not overridden)."""
        kid = self.protected_header.get(HDR_KID)
        if kid is None:
            kid = self.unprotected_header.get(HDR_KID)
        return kid if type(kid) is bytes else None

    def signed_bytes(self) -> bytes:
        """The Sig_structure of RFC 9052 §4.4 that the signature covers."""
        return cbor2.dumps(["Signature1", self.protected, b"", self.payload])


def read_sign1(message: bytes) -> Sign1:
    """A COSE_Sign1 tagged 18, untagged, or tag 61 around tag 18; ReadError('malformed') otherwise."""
    obj = cbor_loads(message)
    if isinstance(obj, cbor2.CBORTag) and obj.tag == CWT_TAG:
        obj = obj.value
        if not (isinstance(obj, cbor2.CBORTag) and obj.tag == COSE_SIGN1_TAG):
            raise ReadError("malformed", "CWT tag 61 not around a COSE_Sign1")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise ReadError("malformed", f"CBOR tag {obj.tag} is not COSE_Sign1")
        obj = obj.value
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:
        raise ReadError("malformed", "COSE_Sign1 must be an array of four")
    protected, unprotected, payload, signature = obj
    if type(protected) is not bytes or not isinstance(unprotected, Mapping):
        raise ReadError("malformed", "COSE headers have the wrong types")
    if type(payload) is not bytes or type(signature) is not bytes:
        raise ReadError("malformed", "COSE payload or signature is not a byte string")
    header = cbor_loads(protected) if protected else {}
    if not isinstance(header, Mapping):
        raise ReadError("malformed", "protected header is not a map")
    return Sign1(protected, header, unprotected, payload, signature)


def verify_signature(public_key: Any, alg: Any, signature: bytes, data: bytes) -> bool:
    """True when `signature` over `data` is valid under `alg` (ES256 raw r||s, or PS256) for the key.

    ES256 uses the key's own curve with SHA-256 (a P-384 key under an ES256 header is verified so,
    as the DCC corpus expects); the raw signature must be exactly twice the curve's size, so a DER
    signature fails. PS256 is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    """
    if type(alg) is not int:
        return False
    try:
        if alg == ALG_ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == ALG_PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data,
                              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH),
                              hashes.SHA256())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
