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
import binascii
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.x509.oid import NameOID

from gate.codes import base45, cose
from gate.codes import keys as keylib
from gate.codes.formats import CodeKind, TrustSource
from gate.codes.result import FormatError, VerifyResult, qr_body
from gate.codes.text import shown_text
from gate.codes.trust import KeyRing, TrustedKey
from gate.credentials.pseudonym import masked_name, pseudonym, salt_of
from gate.errors import GateError

FORMAT = "DCC"
PREFIX = "HC1:"
SECTION = "dscs"  # its section of the trust list (credentials.md)
MAX_TEXT_CHARS = 4296  # the most alphanumeric characters a QR symbol holds
MAX_COSE_BYTES = 8192
CWT_TAG = 61
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
HCERT_V1 = 1
CERT_TYPES = ("v", "t", "r")
ALGORITHMS = frozenset({"ES256", "PS256"})
KEY_TYPES = frozenset({"P-256", "P-384", "RSA"})

# The DCC extended key usage OIDs (EU eHealth Network, DCC technical specification volume 1):
# .1 test, .2 vaccination, .3 recovery, under either arc that DSCs were issued with.
_EKU_ARCS = ("1.3.6.1.4.1.1847.2021.1", "1.3.6.1.4.1.0.1847.2021.1")
EKU_TYPES: dict[str, str] = {f"{arc}.{n}": kind for arc in _EKU_ARCS for n, kind in ((1, "t"), (2, "v"), (3, "r"))}
_OID_EKU = "2.5.29.37"
_OID_COUNTRY = "2.5.4.6"
_MAX_CBOR_DEPTH = 16  # a CWT holding an hcert nests about seven deep


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

    def trusted_key(self) -> TrustedKey:
        """The DSC as a key of the trust store (its scheme from its key type)."""
        alg = "PS256" if isinstance(self.public_key, rsa.RSAPublicKey) else "ES256"
        return TrustedKey(kid=self.kid, issuer=f"DCC-{self.country}" if self.country else "DCC", alg=alg,
                          public_key=self.public_key, details={"country": self.country, "types": self.types})


class DscError(GateError, ValueError):
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
    if keylib.key_type_of(public_key) not in KEY_TYPES:
        raise DscError("a DSC key must be EC P-256, P-384 or RSA")
    dcc_types = frozenset(EKU_TYPES[oid] for oid in oids if oid in EKU_TYPES)
    cc = country or (str(subject_country[0]) if subject_country else "")  # may stay empty
    return Dsc(kid=dsc_kid(der), country=cc.upper(), public_key=public_key,
               types=dcc_types if dcc_types else None, certificate=der)


def dsc_from_entry(entry: Any) -> Dsc:
    """A trust list `dscs` entry; DscError when it is unusable (kid not the certificate's, bad DER)."""
    if not isinstance(entry, Mapping):
        raise DscError("not an object")
    try:
        der = base64.b64decode(entry["certificate"], validate=True)
        kid = base64.b64decode(entry["kid"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise DscError("needs kid and certificate in base64") from None
    country = entry.get("country")
    if country is not None and not isinstance(country, str):
        raise DscError("country is not text")
    if kid != dsc_kid(der):
        raise DscError("kid is not SHA-256(certificate)[:8]")
    return dsc_from_der(der, country or None)


def certificate_der(data: bytes) -> bytes:
    """A certificate file's DER bytes: PEM (`-----BEGIN CERTIFICATE-----`) decoded, DER as it is."""
    text = data.strip()
    if text.startswith(b"-----BEGIN CERTIFICATE-----"):
        body = text.split(b"-----BEGIN CERTIFICATE-----", 1)[1].split(b"-----END CERTIFICATE-----", 1)[0]
        try:
            return base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise DscError("the PEM certificate is not base64") from None
    return data


def dsc_entry(dsc: Dsc) -> dict[str, str]:
    """The trust list entry of a DSC (credentials.md): standard base64 kid and certificate."""
    return {"kid": base64.b64encode(dsc.kid).decode("ascii"), "country": dsc.country,
            "certificate": base64.b64encode(dsc.certificate).decode("ascii")}


def read_dscs(section: Any) -> KeyRing:
    """The trust list's `dscs` section as keys by kid; unusable entries are left out, saying why."""
    if section is None:
        return KeyRing({})
    if not isinstance(section, list):
        raise ValueError("'dscs' must be an array")
    keys: dict[bytes, tuple[TrustedKey, ...]] = {}
    ignored = []
    for n, entry in enumerate(section):
        try:
            dsc = dsc_from_entry(entry)
        except DscError as exc:
            ignored.append(f"dscs[{n}]: {exc}")
            continue
        keys[dsc.kid] = keys.get(dsc.kid, ()) + (dsc.trusted_key(),)
    return KeyRing(keys, tuple(ignored))


@dataclass(slots=True)
class ParsedDcc:
    """A DCC taken apart: the COSE_Sign1 and the CWT claims, types checked, nothing trusted yet."""

    sign1: cose.Sign1
    iss: str | None
    iat: int
    exp: int
    hcert: dict[str, Any]
    cert_type: str

    @property
    def kid(self) -> bytes | None:
        """The protected kid, else the unprotected one (a wrong protected kid is not overridden)."""
        kid = self.sign1.header.get(cose.HDR_KID)
        if kid is None:
            kid = self.sign1.unprotected.get(cose.HDR_KID)
        return kid if type(kid) is bytes else None

    @property
    def alg(self) -> str | None:
        """The signature scheme: the protected `alg`, else the unprotected one (some issuers put it
        there; the key's type still decides what verifies), by name; None when unknown."""
        alg = self.sign1.header.get(cose.HDR_ALG)
        if alg is None:
            alg = self.sign1.unprotected.get(cose.HDR_ALG)
        return cose.ALG_NAMES.get(alg) if type(alg) is int else None


def _date_time_text(value: object, *_: object) -> Any:
    """Tag 0 (RFC 8949 date/time text), which some issuers put on a test's `sc`: kept as the text."""
    if type(value) is not str:
        raise FormatError("malformed", "tag 0 around something that is not text")
    return value


def _epoch_time(value: object, *_: object) -> Any:
    """Tag 1 (epoch seconds): kept as the number."""
    if type(value) not in (int, float):
        raise FormatError("malformed", "tag 1 around something that is not a number")
    return value


def _refuse_tag(*_: object) -> Any:
    raise FormatError("malformed", "semantic CBOR tag where none belongs")


# The payload's semantic tags: dates kept as written (issuers tag a test's `sc`), all other rich
# decodings (regexes, decimals, MIME, sets, ...) refused.
_PAYLOAD_TAGS = {0: _date_time_text, 1: _epoch_time, **{t: _refuse_tag for t in
                 (2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 256, 258, 260, 261, 55799)}}


def _payload_loads(data: bytes) -> Any:
    try:
        return cbor2.loads(data, max_depth=_MAX_CBOR_DEPTH, allow_duplicate_keys=False,
                           semantic_decoders=_PAYLOAD_TAGS)
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 -- cbor2 reports bad input with several types
        raise FormatError("malformed", f"CBOR: {type(exc).__name__}") from None


def thaw(value: Any) -> Any:
    """Decoded CBOR as plain JSON-like Python (cbor2 may give immutable maps and tuples)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


def well_formed(text: str) -> bool:
    """Cheap syntax check: `HC1:` then base45 of a possible length, within the limit."""
    return text.startswith(PREFIX) and len(text) <= MAX_TEXT_CHARS and base45.base45_well_formed(text[len(PREFIX):])


def parse(text: str | bytes) -> ParsedDcc:
    """The DCC's COSE_Sign1 and claims; raises FormatError with the verifier's reason."""
    data = base45.b45decode(qr_body(text, PREFIX, MAX_TEXT_CHARS))
    if not data:
        raise FormatError("malformed", "nothing after the prefix")
    obj = cose.cbor_loads(cose.inflate(data, MAX_COSE_BYTES, required=True))
    if isinstance(obj, cbor2.CBORTag) and obj.tag == CWT_TAG:
        obj = obj.value
        if not (isinstance(obj, cbor2.CBORTag) and obj.tag == cose.COSE_SIGN1_TAG):
            raise FormatError("malformed", "CWT tag 61 not around a COSE_Sign1")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != cose.COSE_SIGN1_TAG:
            raise FormatError("malformed", f"CBOR tag {obj.tag} is not COSE_Sign1")
        obj = obj.value
    sign1 = cose.decode_sign1(obj)
    claims = _payload_loads(sign1.payload)
    if not isinstance(claims, Mapping):
        raise FormatError("malformed", "CWT payload is not a map")
    iss = claims.get(CLAIM_ISS)
    if iss is not None and (type(iss) is not str or not iss):
        raise FormatError("malformed", "iss is not text")
    holder = claims.get(CLAIM_HCERT)
    hcert = holder.get(HCERT_V1) if isinstance(holder, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise FormatError("malformed", "no hcert under claim -260")
    hcert = thaw(hcert)
    present = [kind for kind in CERT_TYPES if isinstance(hcert.get(kind), list) and hcert[kind]]
    if len(present) != 1 or not all(isinstance(entry, dict) for entry in hcert[present[0]]):
        raise FormatError("malformed", "an hcert holds exactly one of v, t, r")
    return ParsedDcc(sign1=sign1, iss=iss, iat=_time(claims.get(CLAIM_IAT), "iat"),
                     exp=_time(claims.get(CLAIM_EXP), "exp"), hcert=hcert, cert_type=present[0])


def _time(value: Any, name: str) -> int:
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int or value < 0:
        raise FormatError("malformed", f"{name} is not a time")
    return value


def verify(text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
    """Judge an `HC1:` text against the trust store at time `now`; never raises."""
    if not _finite(now) or not _finite(skew):
        return VerifyResult.refused("bad_input", FORMAT)
    try:
        return _verify(parse(text), trust, now, skew)
    except FormatError as exc:
        return VerifyResult.refused(exc.reason, FORMAT)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refused(dcc: ParsedDcc, reason: str) -> VerifyResult:
    return VerifyResult(valid=False, reason=reason, iat=dcc.iat, exp=dcc.exp, format=FORMAT,
                        fields={"cert_type": dcc.cert_type})


def _verify(dcc: ParsedDcc, trust: TrustSource, now: float, skew: int) -> VerifyResult:
    kid = dcc.kid
    trust_list = trust.trust_list
    candidates = trust_list.keyring(SECTION, read_dscs).get(kid) if trust_list and kid is not None else ()
    if not candidates:
        return _refused(dcc, "unknown_key")
    if kid in trust_list.revoked:  # type: ignore[union-attr]
        return _refused(dcc, "key_revoked")
    if dcc.alg not in ALGORITHMS:
        return _refused(dcc, "alg_mismatch")
    data = dcc.sign1.signed_bytes()
    # The key's own scheme verifies (an EC DSC: ES256 on its curve, an RSA one: PS256).
    key = next((k for k in candidates if keylib.verify_signature(k.public_key, k.alg, dcc.sign1.signature, data)), None)
    if key is None:
        return _refused(dcc, "bad_signature")
    if dcc.iat - skew > now:
        return _refused(dcc, "not_yet_valid")
    if now > dcc.exp:
        return _refused(dcc, "expired")
    types = key.details.get("types")
    if types is not None and dcc.cert_type not in types:
        return _refused(dcc, "key_usage")
    country = (dcc.iss or key.details.get("country") or "").upper()
    if any(trust.is_revoked_hash(h) for h in revocation_hashes(dcc, country, key.alg)):
        return _refused(dcc, "revoked")
    name = dcc.hcert.get("nam") if isinstance(dcc.hcert.get("nam"), dict) else {}
    salt = salt_of(trust_list)
    sub = None if salt is None else pseudonym(salt, FORMAT, _text(name.get("fnt")), _text(name.get("gnt")),
                                              _text(dcc.hcert.get("dob")))
    return VerifyResult(
        valid=True, reason="ok", format=FORMAT, issuer=f"DCC-{country}" if country else "DCC", sub=sub,
        iat=dcc.iat, exp=dcc.exp, name=_shown_name(name), fields={"cert_type": dcc.cert_type},
        payload=dcc.hcert,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _shown_name(nam: Mapping[str, Any]) -> str | None:
    """The holder's name, masked (credentials.md: shown masked, as for JKM1)."""
    shown = masked_name(_text(nam.get("fn")) or _text(nam.get("fnt")), _text(nam.get("gn")) or _text(nam.get("gnt")))
    return shown_text(shown) if shown else None


def revocation_hashes(dcc: ParsedDcc, country: str, alg: str | None) -> tuple[bytes, ...]:
    """The EU revocation hashes (first 16 bytes each): of the UCI, of country+UCI, of the signature.

    The signature hash covers `r` alone for ES256 and the whole signature for PS256.
    """
    out = []
    uci = dcc.hcert[dcc.cert_type][0].get("ci")
    if isinstance(uci, str) and uci:
        out.append(hashlib.sha256(uci.encode("utf-8")).digest()[:16])
        out.append(hashlib.sha256((country + uci).encode("utf-8")).digest()[:16])
    sig = dcc.sign1.signature
    signed = sig[: len(sig) // 2] if alg == "ES256" else sig
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
    max_text_chars = MAX_TEXT_CHARS
    algorithms = ALGORITHMS
    key_types = KEY_TYPES

    def well_formed(self, text: str) -> bool:
        """Base45 after the prefix, of a length base45 can have, within the text limit."""
        return well_formed(text)

    def parse(self, text: str | bytes) -> ParsedDcc:
        """The COSE_Sign1 and its claims; raises gate.codes.result.FormatError with a verifier reason."""
        return parse(text)

    def verify(self, text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
        """credentials.md "DCC at the gate", in order; never raises."""
        return verify(text, trust, now, skew)


DCC = DccFormat()
