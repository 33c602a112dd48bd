"""The SMART Health Card (`shc:/`) at the gate (credentials.md, "SHC at the gate").

`shc:/` then digit pairs, each pair + 45 one character of a compact JWS (ES256, `zip: DEF`, the
payload raw DEFLATE of a JSON verifiable credential). The key is found by `kid`, the RFC 7638
thumbprint of an EC P-256 key in a trusted issuer's JWKS; the payload's `iss` must be that
issuer. Then `nbf ≤ now + skew`, an `exp` if present `now ≤ exp`, and the card's `rid` must not
be revoked (SHA-256 of issuer URL, `#` and the rid, first 16 bytes, in the status list's
`revoked_hashes`). A chunked card (`shc:/1/2/...`, deprecated by the SHC specification) is
`malformed`; `shc:/1/1/` is one whole card.

JWS is written out here with cryptography rather than taken from a JOSE library: the gate needs
exactly one algorithm, compact serialisation and a thumbprint, each a few lines, and a library's
wider surface (other algorithms, JSON serialisation, header-embedded keys) is what the gate must
refuse anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import zlib
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gate.codes.cose import ReadError
from gate.codes.formats import CodeKind
from gate.codes.text import shown_text
from gate.credentials import normalise
from gate.credentials.pseudonym import pseudonym
from gate.credentials.result import CredentialResult

FORMAT = "SHC"
PREFIX = "shc:/"
MAX_TEXT_CHARS = 7089          # the most digits a QR symbol holds
MAX_PAYLOAD_BYTES = 64 * 1024  # inflated JSON
_NUMERIC = re.compile(r"shc:/(?:1/1/)?((?:[0-9]{2})+)")
_CHUNKED = re.compile(r"shc:/[0-9]+/[0-9]+/")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class ShcIssuer:
    """A trusted SHC issuer: its URL and its ES256 keys by RFC 7638 thumbprint."""

    iss: str
    keys: Mapping[str, ec.EllipticCurvePublicKey]
    jwks: Mapping[str, Any]


class ShcTrust(Protocol):
    """What verifying an SHC needs of the trust store."""

    shc_issuers: Mapping[str, ShcIssuer]
    revoked_kids: Container[bytes]
    revoked_hashes: Container[bytes]
    pseudonym_salt: bytes


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ReadError('malformed') otherwise."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ReadError("malformed", "not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ReadError("malformed", "not base64url") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an EC JWK: base64url SHA-256 of {"crv","kty","x","y"} in that order."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwk_public_key(jwk: Any) -> ec.EllipticCurvePublicKey | None:
    """The P-256 public key of a JWK, or None when it is anything else (RSA, another curve, a
    private key, a key for another algorithm or use)."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        return None
    if jwk.get("alg", "ES256") != "ES256" or jwk.get("use", "sig") != "sig":
        return None
    try:
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            return None
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except (KeyError, TypeError, ValueError, ReadError):
        return None


def issuer_url_ok(iss: Any) -> bool:
    """An issuer URL as the SHC specification wants it: https, a host, no trailing slash."""
    if not isinstance(iss, str) or iss.endswith("/"):
        return False
    parts = urlsplit(iss)
    return parts.scheme == "https" and bool(parts.hostname) and not parts.query and not parts.fragment


def issuer_from_entry(entry: Any) -> ShcIssuer | None:
    """A trust list `shc_issuers` entry, or None when it is unusable; JWKs that are not EC P-256
    public keys are left out."""
    if not isinstance(entry, Mapping) or not issuer_url_ok(entry.get("iss")):
        return None
    jwks = entry.get("jwks")
    keys_in = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys_in, list):
        return None
    keys = {}
    for jwk in keys_in:
        key = jwk_public_key(jwk)
        if key is not None:
            keys[jwk_thumbprint(jwk)] = key
    return ShcIssuer(iss=entry["iss"], keys=keys, jwks=jwks)


def revocation_hash(iss: str, rid: str) -> bytes:
    """SHA-256 of issuer URL, `#` and the rid without any `.timestamp`, first 16 bytes."""
    return hashlib.sha256(f"{iss}#{rid.split('.', 1)[0]}".encode("utf-8")).digest()[:16]


@dataclass(slots=True)
class ParsedShc:
    """A card's JWS taken apart, nothing yet trusted."""

    header: dict[str, Any]
    signing_input: bytes
    signature: bytes
    payload: dict[str, Any]


def well_formed(text: str) -> bool:
    """Cheap syntax check: `shc:/` then an even number of digits (chunked cards are not)."""
    return len(text) <= MAX_TEXT_CHARS and _NUMERIC.fullmatch(text) is not None


def numeric_to_jws(text: str | bytes) -> str:
    """The JWS of an `shc:/` numeric text; ReadError with the verifier's reason otherwise."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ReadError("not_a_health_code", "not UTF-8 text") from None
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise ReadError("not_a_health_code", "no shc:/ prefix")
    if len(text) > MAX_TEXT_CHARS:
        raise ReadError("too_large", "QR text longer than a QR symbol holds")
    m = _NUMERIC.fullmatch(text)
    if m is None:
        if _CHUNKED.match(text):
            raise ReadError("malformed", "a chunked card (deprecated by the SHC specification)")
        raise ReadError("malformed", "not pairs of digits after shc:/")
    digits = m.group(1)
    values = [int(digits[i:i + 2]) for i in range(0, len(digits), 2)]
    if max(values) > ord("z") - 45:
        raise ReadError("malformed", "a digit pair above 77")
    return "".join(chr(v + 45) for v in values)


def parse_jws(jws: str) -> ParsedShc:
    """A compact JWS with an ES256 header, `zip: DEF` and a JSON payload; ReadError otherwise."""
    parts = jws.split(".")
    if len(parts) != 3:
        raise ReadError("malformed", "a JWS has three parts")
    try:
        header = json.loads(b64url_decode(parts[0]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReadError("malformed", "JWS header is not JSON") from None
    if not isinstance(header, dict):
        raise ReadError("malformed", "JWS header is not an object")
    if not isinstance(header.get("alg"), str) or not isinstance(header.get("kid"), str):
        raise ReadError("malformed", "JWS header lacks alg or kid")
    if header.get("zip") != "DEF":
        raise ReadError("malformed", "the payload is not DEFLATE-compressed (zip: DEF)")
    inflater = zlib.decompressobj(-15)
    try:
        raw = inflater.decompress(b64url_decode(parts[1]), MAX_PAYLOAD_BYTES + 1)
    except zlib.error:
        raise ReadError("malformed", "payload is not raw DEFLATE") from None
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ReadError("too_large", "payload inflates past 64 KiB")
    if not inflater.eof or inflater.unused_data:
        raise ReadError("malformed", "DEFLATE stream truncated or followed by other bytes")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ReadError("malformed", "payload is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("vc"), dict):
        raise ReadError("malformed", "payload is not a verifiable credential")
    if not isinstance(payload.get("iss"), str) or not _number(payload.get("nbf")):
        raise ReadError("malformed", "payload lacks iss or nbf")
    if "exp" in payload and not _number(payload["exp"]):
        raise ReadError("malformed", "exp is not a number")
    return ParsedShc(header=header, signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
                     signature=b64url_decode(parts[2]), payload=payload)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def verify(text: str | bytes, trust: ShcTrust, now: float, skew: int) -> CredentialResult:
    """Judge an `shc:/` text against the trust store at time `now`; never raises."""
    if not _number(now) or not _number(skew):
        return CredentialResult.refused(FORMAT, "bad_input")
    try:
        return verify_jws(numeric_to_jws(text), trust, now, skew)
    except ReadError as exc:
        return CredentialResult.refused(FORMAT, exc.reason)


def verify_jws(jws: str, trust: ShcTrust, now: float, skew: int) -> CredentialResult:
    """Judge a card's compact JWS (what the numeric QR holds); never raises."""
    try:
        card = parse_jws(jws)
    except ReadError as exc:
        return CredentialResult.refused(FORMAT, exc.reason)
    payload = card.payload
    claimed = {"iat": int(payload["nbf"]), "exp": int(payload["exp"]) if "exp" in payload else None}
    if card.header["alg"] != "ES256":
        return CredentialResult.refused(FORMAT, "alg_mismatch", **claimed)
    kid = card.header["kid"]
    issuer = next((i for i in trust.shc_issuers.values() if kid in i.keys), None)
    if issuer is None:
        return CredentialResult.refused(FORMAT, "unknown_key", **claimed)
    try:
        if b64url_decode(kid) in trust.revoked_kids:
            return CredentialResult.refused(FORMAT, "key_revoked", **claimed)
    except ReadError:
        return CredentialResult.refused(FORMAT, "malformed", **claimed)
    if not _es256_ok(issuer.keys[kid], card.signature, card.signing_input):
        return CredentialResult.refused(FORMAT, "bad_signature", **claimed)
    if payload["iss"] != issuer.iss:
        return CredentialResult.refused(FORMAT, "issuer_mismatch", **claimed)
    if payload["nbf"] - skew > now:
        return CredentialResult.refused(FORMAT, "not_yet_valid", **claimed)
    if "exp" in payload and now > payload["exp"]:
        return CredentialResult.refused(FORMAT, "expired", **claimed)
    rid = payload["vc"].get("rid")
    if isinstance(rid, str) and revocation_hash(issuer.iss, rid) in trust.revoked_hashes:
        return CredentialResult.refused(FORMAT, "revoked", **claimed)
    cert_type, hcert = normalise.to_hcert(payload, issuer.iss, rid if isinstance(rid, str) else None)
    person = normalise.holder(payload)
    return CredentialResult(
        valid=True, reason="ok", format=FORMAT, issuer=f"SHC:{urlsplit(issuer.iss).hostname}",
        cert_type=cert_type,
        sub=pseudonym(trust.pseudonym_salt, FORMAT, person.family, person.given, person.birth_date),
        name=shown_text(person.shown) if person.shown else None, payload=hcert, **claimed,
    )


def _es256_ok(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """ES256 in JWS form: exactly 64 bytes r||s (a DER signature is refused)."""
    if len(signature) != 64:
        return False
    try:
        key.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")),
                   data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


class ShcFormat:
    """The SMART Health Card (`shc:/`) behind the gate's format seam (gate.codes.formats)."""

    name = FORMAT
    prefix = PREFIX
    kind = CodeKind.HEALTH_CODE

    def well_formed(self, text: str) -> bool:
        """`shc:/` and digit pairs (a chunked card is not well formed)."""
        return well_formed(text)

    def parse(self, text: str | bytes) -> ParsedShc:
        """The card's JWS taken apart; raises gate.codes.cose.ReadError with a verifier reason."""
        return parse_jws(numeric_to_jws(text))

    def verify(self, text: str | bytes, trust: Any, now: float, skew: int) -> CredentialResult:
        """credentials.md "SHC at the gate", in order; never raises."""
        return verify(text, trust, now, skew)


SHC = ShcFormat()
