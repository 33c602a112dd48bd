"""The issuer side of a DCC, for tests, demos and pilots: a Document Signer Certificate and `HC1:` texts.

A gate never holds a DSC's private key. `make_dsc` creates a self-signed DSC (EC P-256 or RSA)
with the DCC extended key usage OIDs asked for; `issue` signs an hcert into an `HC1:` text with
ES256 (raw r||s) or PS256, the kid in the protected header (or the unprotected one, or both),
tagged 18, untagged, or tag 61 around 18.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from gate.codes import base45, cose, dcc

EKU_OID = {"t": "1.3.6.1.4.1.1847.2021.1.1", "v": "1.3.6.1.4.1.1847.2021.1.2", "r": "1.3.6.1.4.1.1847.2021.1.3"}


def make_dsc(country: str, *, rsa_key: bool = False, types: str | None = None,
             name: str = "Demo DSC") -> tuple[Any, bytes]:
    """(private key, DER certificate) of a new self-signed DSC; `types` e.g. "v" or "vtr" sets the
    DCC extended key usage (None: no DCC key usage at all, so every type may be signed)."""
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650)))
    if types is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(EKU_OID[t]) for t in types]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.DER)


def issue(hcert: dict[str, Any], key: Any, certificate: bytes, *, iss: str | None, iat: int, exp: int,
          kid_where: str = "protected", tag: str = "18", der_signature: bool = False) -> str:
    """An `HC1:` text of `hcert`, signed by the DSC's private `key`.

    kid_where: protected, unprotected, both, or "wrong-protected" (a wrong protected kid with the
    right unprotected one, which must fail). tag: "18", "none" or "61".
    """
    kid = dcc.dsc_kid(certificate)
    alg = cose.ALG_IDS["PS256"] if isinstance(key, rsa.RSAPrivateKey) else cose.ALG_IDS["ES256"]
    protected_map: dict[int, Any] = {cose.HDR_ALG: alg}
    unprotected: dict[int, Any] = {}
    if kid_where in ("protected", "both"):
        protected_map[cose.HDR_KID] = kid
    if kid_where in ("unprotected", "both", "wrong-protected"):
        unprotected[cose.HDR_KID] = kid
    if kid_where == "wrong-protected":
        protected_map[cose.HDR_KID] = bytes(8)
    claims: dict[int, Any] = {dcc.CLAIM_IAT: iat, dcc.CLAIM_EXP: exp, dcc.CLAIM_HCERT: {dcc.HCERT_V1: hcert}}
    if iss is not None:
        claims[dcc.CLAIM_ISS] = iss
    protected = cbor2.dumps(protected_map)
    payload = cbor2.dumps(claims)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    if alg == cose.ALG_IDS["PS256"]:
        signature = key.sign(to_sign, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    else:
        der = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = der if der_signature else r.to_bytes(32, "big") + s.to_bytes(32, "big")
    message: Any = [protected, unprotected, payload, signature]
    if tag == "18":
        message = cbor2.CBORTag(cose.COSE_SIGN1_TAG, message)
    elif tag == "61":
        message = cbor2.CBORTag(dcc.CWT_TAG, cbor2.CBORTag(cose.COSE_SIGN1_TAG, message))
    return dcc.PREFIX + base45.b45encode(zlib.compress(cbor2.dumps(message), 9))


def vaccination(family: str, given: str, dob: str, when: str, *, dn: int = 2, sd: int = 2,
                country: str = "DE", uci: str = "URN:UVCI:01:DE:DEMO0000001#X") -> dict[str, Any]:
    """An hcert of one vaccination (schema 1.3.0)."""
    return {"ver": "1.3.0", "dob": dob,
            "nam": {"fn": family, "gn": given, "fnt": _icao(family), "gnt": _icao(given)},
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                   "dn": dn, "sd": sd, "dt": when, "co": country, "is": "Demo Ministry of Health", "ci": uci}]}


def test_result(family: str, given: str, dob: str, collected: str, *, tt: str = "LP6464-4",
                tr: str = "260415000", country: str = "DE", uci: str = "URN:UVCI:01:DE:DEMO0000002#Y") -> dict[str, Any]:
    """An hcert of one test (schema 1.3.0); `collected` is an ISO date-time with a zone."""
    return {"ver": "1.3.0", "dob": dob,
            "nam": {"fn": family, "gn": given, "fnt": _icao(family), "gnt": _icao(given)},
            "t": [{"tg": "840539006", "tt": tt, "tr": tr, "sc": collected, "tc": "Demo Lab",
                   "co": country, "is": "Demo Ministry of Health", "ci": uci}]}


test_result.__test__ = False  # not a pytest test, whatever imports it


def _icao(name: str) -> str:
    """A rough ICAO 9303 transliteration (upper case, spaces as `<`), enough for demo names."""
    return "".join(c if c.isascii() and c.isalnum() else "<" for c in name.upper())
