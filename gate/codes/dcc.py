"""The EU Digital COVID Certificate (`HC1:`) at the gate (credentials.md, "DCC at the gate").

`HC1:` + base45 (RFC 9285) of zlib (required) of a COSE_Sign1 (gate.codes.cose) whose payload is
a CWT holding the hcert under claim -260 → 1. It is signed by a Document Signer Certificate
(DSC) from the trust list, found by `kid` = SHA-256(DSC DER)[:8]. `verify` checks, in order:
the container, the key id, the signature, the time (`iat ≤ now + skew`, `now ≤ exp`), the
DSC's key usage for the certificate's type, and revocation by the EU's three hashes; it never
raises. The DSC's own validity dates are not checked (as the EU test corpus expects).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import base45
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.x509.oid import NameOID

from gate.codes import cose
from gate.codes.format import base45_well_formed
from gate.codes.formats import CodeKind
from gate.codes.text import shown_text
from gate.credentials.pseudonym import pseudonym
from gate.credentials.result import CredentialResult

FORMAT = "DCC"
PREFIX = "HC1:"
MAX_TEXT_CHARS = 8192
MAX_COSE_BYTES = 8192
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
HCERT_V1 = 1
CERT_TYPES = ("v", "t", "r")

# The DCC extended key usage OIDs (EU eHealth Network, DCC technical specification volume 1):
# .1 test, .2 vaccination, .3 recovery, under either arc that DSCs were issued with.
_EKU_ARCS = ("1.3.6.1.4.1.1847.2021.1", "1.3.6.1.4.1.0.1847.2021.1")
EKU_TYPES: dict[str, str] = {f"{arc}.{n}": kind for arc in _EKU_ARCS for n, kind in ((1, "t"), (2, "v"), (3, "r"))}
_OID_EKU = "2.5.29.37"
_OID_COUNTRY = "2.5.4.6"



@dataclass(frozen=True, slots=True)
class Dsc:
    """A trusted Document Signer Certificate: its kid, country, public key and DCC key usage.

    `types` is the set of certificate types its extended key usage allows, or None when it
    carries no DCC key usage OID at all (then it may sign every type).
    """

    kid: bytes
    country: str
    public_key: Any
    types: frozenset[str] | None
    certificate: bytes


class DscError(ValueError):
    """A certificate that cannot serve as a DSC (unreadable, or a key type DCCs do not use)."""


def dsc_kid(der: bytes) -> bytes:
    """The DCC key id of a certificate: the first 8 bytes of SHA-256 over its DER bytes."""
    return hashlib.sha256(der).digest()[:8]


def dsc_from_der(der: bytes, country: str | None = None) -> Dsc:
    """A DSC from its DER certificate; the country from the certificate's subject unless given.

    Some issuers' DSCs carry extensions that are not strict DER, which cryptography refuses; then
    the certificate is walked with the small DER reader below for its key, country and key usage.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        public_key = cert.public_key()
        subject_country = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)]
        try:
            eku = cert.extensions.get_extension_for_oid(x509.oid.ExtensionOID.EXTENDED_KEY_USAGE)
            oids = [oid.dotted_string for oid in eku.value]
        except x509.ExtensionNotFound:
            oids = []
    except ValueError:
        public_key, subject_country, oids = _walk_certificate(der)
    if not isinstance(public_key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise DscError("a DSC key must be EC or RSA")
    dcc_types = frozenset(EKU_TYPES[oid] for oid in oids if oid in EKU_TYPES)
    cc = country or (str(subject_country[0]) if subject_country else "")  # may stay empty
    return Dsc(kid=dsc_kid(der), country=cc.upper(), public_key=public_key,
               types=dcc_types if dcc_types else None, certificate=der)


def dsc_from_entry(entry: Any) -> Dsc | None:
    """A trust list `dscs` entry, or None when it is unusable (kid not the certificate's, bad DER)."""
    if not isinstance(entry, Mapping):
        return None
    try:
        der = base64.b64decode(entry["certificate"], validate=True)
        kid = base64.b64decode(entry["kid"], validate=True)
        country = entry.get("country")
        if kid != dsc_kid(der) or (country is not None and not isinstance(country, str)):
            return None
        return dsc_from_der(der, country or None)
    except (KeyError, TypeError, ValueError):
        return None


def dsc_entry(dsc: Dsc) -> dict[str, str]:
    """The trust list entry of a DSC (credentials.md): standard base64 kid and certificate."""
    return {"kid": base64.b64encode(dsc.kid).decode("ascii"), "country": dsc.country,
            "certificate": base64.b64encode(dsc.certificate).decode("ascii")}


class DccTrust(Protocol):
    """What verifying a DCC needs of the trust store."""

    dscs: Mapping[bytes, tuple[Dsc, ...]]
    revoked_kids: Container[bytes]
    revoked_hashes: Container[bytes]
    pseudonym_salt: bytes


@dataclass(slots=True)
class ParsedDcc:
    """A DCC taken apart: the COSE_Sign1 and the CWT claims, types checked, nothing trusted yet."""

    sign1: cose.Sign1
    iss: str | None
    iat: int
    exp: int
    hcert: dict[str, Any]
    cert_type: str


def well_formed(text: str) -> bool:
    """Cheap syntax check: `HC1:` then base45 characters of a possible length, within the limit."""
    return text.startswith(PREFIX) and len(text) <= MAX_TEXT_CHARS and base45_well_formed(text[len(PREFIX):])


def parse(text: str | bytes) -> ParsedDcc:
    """The DCC's COSE_Sign1 and claims; raises cose.ReadError with the verifier's reason."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise cose.ReadError("not_a_health_code", "not UTF-8 text") from None
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise cose.ReadError("not_a_health_code", "no HC1: prefix")
    if len(text) > MAX_TEXT_CHARS:
        raise cose.ReadError("too_large", f"QR text over {MAX_TEXT_CHARS} characters")
    try:
        data = base45.b45decode(text[len(PREFIX):])
    except (ValueError, TypeError, KeyError):
        raise cose.ReadError("malformed", "not base45") from None
    if not data:
        raise cose.ReadError("malformed", "nothing after the prefix")
    sign1 = cose.read_sign1(cose.inflate_zlib(data, MAX_COSE_BYTES))
    claims = cose.cbor_loads(sign1.payload)
    if not isinstance(claims, Mapping):
        raise cose.ReadError("malformed", "CWT payload is not a map")
    iss = claims.get(CLAIM_ISS)
    if iss is not None and (type(iss) is not str or not iss):
        raise cose.ReadError("malformed", "iss is not text")
    holder = claims.get(CLAIM_HCERT)
    hcert = holder.get(HCERT_V1) if isinstance(holder, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise cose.ReadError("malformed", "no hcert under claim -260")
    hcert = cose.thaw(hcert)
    present = [kind for kind in CERT_TYPES if isinstance(hcert.get(kind), list) and hcert[kind]]
    if len(present) != 1 or not all(isinstance(entry, dict) for entry in hcert[present[0]]):
        raise cose.ReadError("malformed", "an hcert holds exactly one of v, t, r")
    return ParsedDcc(sign1=sign1, iss=iss, iat=_time(claims.get(CLAIM_IAT), "iat"),
                     exp=_time(claims.get(CLAIM_EXP), "exp"), hcert=hcert, cert_type=present[0])


def _time(value: Any, name: str) -> int:
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int or value < 0:
        raise cose.ReadError("malformed", f"{name} is not a time")
    return value


def verify(text: str | bytes, trust: DccTrust, now: float, skew: int) -> CredentialResult:
    """Judge an `HC1:` text against the trust store at time `now`; never raises."""
    if not _finite(now) or not _finite(skew):
        return CredentialResult.refused(FORMAT, "bad_input")
    try:
        return _verify(parse(text), trust, now, skew)
    except cose.ReadError as exc:
        return CredentialResult.refused(FORMAT, exc.reason)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _verify(dcc: ParsedDcc, trust: DccTrust, now: float, skew: int) -> CredentialResult:
    claimed = {"iat": dcc.iat, "exp": dcc.exp, "cert_type": dcc.cert_type}
    kid = dcc.sign1.kid
    candidates = trust.dscs.get(kid, ()) if kid is not None else ()
    if not candidates:
        return CredentialResult.refused(FORMAT, "unknown_key", **claimed)
    if kid in trust.revoked_kids:
        return CredentialResult.refused(FORMAT, "key_revoked", **claimed)
    data = dcc.sign1.signed_bytes()
    dsc = next((d for d in candidates
                if cose.verify_signature(d.public_key, dcc.sign1.alg, dcc.sign1.signature, data)), None)
    if dsc is None:
        return CredentialResult.refused(FORMAT, "bad_signature", **claimed)
    if dcc.iat - skew > now:
        return CredentialResult.refused(FORMAT, "not_yet_valid", **claimed)
    if now > dcc.exp:
        return CredentialResult.refused(FORMAT, "expired", **claimed)
    if dsc.types is not None and dcc.cert_type not in dsc.types:
        return CredentialResult.refused(FORMAT, "key_usage", **claimed)
    country = (dcc.iss or dsc.country or "??").upper()
    if any(h in trust.revoked_hashes for h in revocation_hashes(dcc, country)):
        return CredentialResult.refused(FORMAT, "revoked", **claimed)
    name = dcc.hcert.get("nam") if isinstance(dcc.hcert.get("nam"), dict) else {}
    return CredentialResult(
        valid=True, reason="ok", format=FORMAT, issuer=f"DCC-{country}", cert_type=dcc.cert_type,
        sub=pseudonym(trust.pseudonym_salt, FORMAT, _text(name.get("fnt")), _text(name.get("gnt")),
                      _text(dcc.hcert.get("dob"))),
        iat=dcc.iat, exp=dcc.exp, name=_shown_name(name), payload=dcc.hcert,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _shown_name(nam: Mapping[str, Any]) -> str | None:
    parts = [_text(nam.get("fn")) or _text(nam.get("fnt")), _text(nam.get("gn")) or _text(nam.get("gnt"))]
    shown = " ".join(p for p in parts if p)
    return shown_text(shown) if shown else None


def revocation_hashes(dcc: ParsedDcc, country: str) -> tuple[bytes, ...]:
    """The EU revocation hashes (first 16 bytes each): of the UCI, of country+UCI, of the signature.

    The signature hash covers `r` alone for ES256 and the whole signature for PS256.
    """
    out = []
    uci = dcc.hcert[dcc.cert_type][0].get("ci")
    if isinstance(uci, str) and uci:
        out.append(hashlib.sha256(uci.encode("utf-8")).digest()[:16])
        out.append(hashlib.sha256((country + uci).encode("utf-8")).digest()[:16])
    sig = dcc.sign1.signature
    signed = sig[: len(sig) // 2] if dcc.sign1.alg == cose.ALG_ES256 else sig
    out.append(hashlib.sha256(signed).digest()[:16])
    return tuple(out)


# --- a small DER reader, for DSCs whose extensions cryptography refuses as not strict DER ---

def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `at`."""
    tag = data[at]
    length = data[at + 1]
    at += 2
    if length & 0x80:
        n = length & 0x7F
        if not 0 < n <= 4:
            raise DscError("unsupported DER length")
        length = int.from_bytes(data[at:at + n], "big")
        at += n
    if at + length > len(data):
        raise DscError("truncated DER")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element between start and end."""
    out = []
    while start < end:
        tag, vstart, vend = _tlv(data, start)
        out.append((tag, start, vstart, vend))
        start = vend
    return out


def _oid(raw: bytes) -> str:
    first = raw[0]
    arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


def _walk_certificate(der: bytes) -> tuple[Any, list[str], list[str]]:
    """(public key, subject countries, extended key usage OIDs) read straight from the DER."""
    try:
        _, cstart, cend = _tlv(der, 0)
        _, tstart, tend = _tlv(der, cstart)
        fields = _children(der, tstart, tend)
        if fields and fields[0][0] == 0xA0:  # explicit version
            fields = fields[1:]
        subject, spki = fields[4], fields[5]
        public_key = load_der_public_key(der[spki[1]:spki[3]])
        countries = []
        for _, _, rs, re_ in _children(der, subject[2], subject[3]):  # RDN sets
            for _, _, as_, ae in _children(der, rs, re_):  # attribute sequences
                parts = _children(der, as_, ae)
                if _oid(der[parts[0][2]:parts[0][3]]) == _OID_COUNTRY:
                    countries.append(der[parts[1][2]:parts[1][3]].decode("utf-8", "replace"))
        oids: list[str] = []
        for tag, _, vs, ve in fields[6:]:
            if tag != 0xA3:
                continue
            _, es, ee = _tlv(der, vs)
            for _, _, xs, xe in _children(der, es, ee):
                parts = _children(der, xs, xe)
                if _oid(der[parts[0][2]:parts[0][3]]) == _OID_EKU:
                    value = parts[-1]
                    _, ks, ke = _tlv(der, value[2])
                    oids = [_oid(der[s:e]) for _, _, s, e in _children(der, ks, ke)]
        return public_key, countries, oids
    except (IndexError, ValueError) as exc:
        raise DscError(f"unreadable certificate: {exc}") from None


class DccFormat:
    """The EU DCC (`HC1:`) behind the gate's format seam (gate.codes.formats)."""

    name = FORMAT
    prefix = PREFIX
    kind = CodeKind.HEALTH_CODE

    def well_formed(self, text: str) -> bool:
        """Base45 after the prefix, of a length base45 can have, within the text limit."""
        return well_formed(text)

    def parse(self, text: str | bytes) -> ParsedDcc:
        """The COSE_Sign1 and its claims; raises gate.codes.cose.ReadError with a verifier reason."""
        return parse(text)

    def verify(self, text: str | bytes, trust: Any, now: float, skew: int) -> CredentialResult:
        """credentials.md "DCC at the gate", in order; never raises."""
        return verify(text, trust, now, skew)


DCC = DccFormat()
