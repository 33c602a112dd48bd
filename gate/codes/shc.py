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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from gate.codes import keys as keylib
from gate.codes.formats import CodeKind, TrustSource
from gate.codes.result import FormatError, VerifyResult, qr_body
from gate.codes.text import shown_text
from gate.codes.trust import KeyRing, TrustedKey
from gate.credentials import normalise
from gate.credentials.pseudonym import masked_name, pseudonym, salt_of

ReadError = FormatError  # this module's readers raise the seam's FormatError

FORMAT = "SHC"
PREFIX = "shc:/"
SECTION = "shc_issuers"  # its section of the trust list (credentials.md)
ALGORITHMS = frozenset({"ES256"})
KEY_TYPES = frozenset({"P-256"})
MAX_TEXT_CHARS = 7089          # the most digits a QR symbol holds
MAX_PAYLOAD_BYTES = 64 * 1024  # inflated JSON
_NUMERIC = re.compile(r"shc:/(?:1/1/)?((?:[0-9]{2})+)")
_CHUNKED = re.compile(r"shc:/[0-9]+/[0-9]+/")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


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


def issuer_keys(entry: Any) -> tuple[str, dict[str, ec.EllipticCurvePublicKey]]:
    """(issuer URL, its ES256 keys by RFC 7638 thumbprint) of a trust list `shc_issuers` entry;
    ValueError when the entry is unusable. JWKs that are not EC P-256 public keys are left out."""
    if not isinstance(entry, Mapping) or not issuer_url_ok(entry.get("iss")):
        raise ValueError("needs iss, an https URL without a trailing slash")
    jwks = entry.get("jwks")
    keys_in = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys_in, list):
        raise ValueError("needs jwks with a keys array")
    keys = {}
    for jwk in keys_in:
        key = jwk_public_key(jwk)
        if key is not None:
            keys[jwk_thumbprint(jwk)] = key
    return entry["iss"], keys


def read_shc_issuers(section: Any) -> KeyRing:
    """The trust list's `shc_issuers` section as keys by thumbprint; unusable entries left out."""
    if section is None:
        return KeyRing({})
    if not isinstance(section, list):
        raise ValueError("'shc_issuers' must be an array")
    ring: dict[str, tuple[TrustedKey, ...]] = {}
    ignored = []
    for n, entry in enumerate(section):
        try:
            iss, keys = issuer_keys(entry)
        except ValueError as exc:
            ignored.append(f"shc_issuers[{n}]: {exc}")
            continue
        for kid, key in keys.items():
            ring[kid] = ring.get(kid, ()) + (TrustedKey(kid=kid, issuer=iss, alg="ES256", public_key=key),)
    return KeyRing(ring, tuple(ignored))


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
    text = PREFIX + qr_body(text, PREFIX, MAX_TEXT_CHARS)
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


def _shown(name: str | None) -> str | None:
    return shown_text(name) if name else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def verify(text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
    """Judge an `shc:/` text against the trust store at time `now`; never raises."""
    if not _number(now) or not _number(skew):
        return VerifyResult.refused("bad_input", FORMAT)
    try:
        return verify_jws(numeric_to_jws(text), trust, now, skew)
    except FormatError as exc:
        return VerifyResult.refused(exc.reason, FORMAT)


def verify_jws(jws: str, trust: TrustSource, now: float, skew: int) -> VerifyResult:
    """Judge a card's compact JWS (what the numeric QR holds); never raises."""
    try:
        card = parse_jws(jws)
    except FormatError as exc:
        return VerifyResult.refused(exc.reason, FORMAT)
    payload = card.payload
    claimed = {"iat": int(payload["nbf"]), "exp": int(payload["exp"]) if "exp" in payload else None}

    def refused(reason: str) -> VerifyResult:
        return VerifyResult(valid=False, reason=reason, format=FORMAT, **claimed)

    if card.header["alg"] not in ALGORITHMS:
        return refused("alg_mismatch")
    kid = card.header["kid"]
    trust_list = trust.trust_list
    candidates = trust_list.keyring(SECTION, read_shc_issuers).get(kid) if trust_list else ()
    if not candidates:
        return refused("unknown_key")
    try:
        if b64url_decode(kid) in trust_list.revoked:  # type: ignore[union-attr]
            return refused("key_revoked")
    except FormatError:
        return refused("malformed")
    # ES256 in JWS form is exactly 64 bytes r||s: a DER signature does not verify.
    signed = [k for k in candidates
              if len(card.signature) == 64 and keylib.verify_signature(k.public_key, "ES256", card.signature, card.signing_input)]
    if not signed:
        return refused("bad_signature")
    key = next((k for k in signed if k.issuer == payload["iss"]), None)
    if key is None:
        return refused("issuer_mismatch")
    if payload["nbf"] - skew > now:
        return refused("not_yet_valid")
    if "exp" in payload and now > payload["exp"]:
        return refused("expired")
    rid = payload["vc"].get("rid")
    if isinstance(rid, str) and trust.is_revoked_hash(revocation_hash(key.issuer, rid)):
        return refused("revoked")
    cert_type, hcert = normalise.to_hcert(payload, key.issuer, rid if isinstance(rid, str) else None)
    person = normalise.holder(payload)
    salt = salt_of(trust_list)
    sub = None if salt is None else pseudonym(salt, FORMAT, person.family, person.given, person.birth_date)
    return VerifyResult(
        valid=True, reason="ok", format=FORMAT, issuer=f"SHC:{urlsplit(key.issuer).hostname}", sub=sub,
        name=_shown(masked_name(person.shown or "")), fields={"cert_type": cert_type},
        payload=hcert, **claimed,
    )


class ShcFormat:
    """The SMART Health Card (`shc:/`) behind the gate's format seam (gate.codes.formats)."""

    name = FORMAT
    prefix = PREFIX
    kind = CodeKind.HEALTH_CODE
    max_text_chars = MAX_TEXT_CHARS
    algorithms = ALGORITHMS
    key_types = KEY_TYPES

    def well_formed(self, text: str) -> bool:
        """`shc:/` and digit pairs (a chunked card is not well formed)."""
        return well_formed(text)

    def parse(self, text: str | bytes) -> ParsedShc:
        """The card's JWS taken apart; raises gate.codes.result.FormatError with a verifier reason."""
        return parse_jws(numeric_to_jws(text))

    def verify(self, text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
        """credentials.md "SHC at the gate", in order; never raises."""
        return verify(text, trust, now, skew)


SHC = ShcFormat()
