"""The issuer side of a SMART Health Card, for tests, demos and pilots: keys, JWKS and `shc:/` texts.

A gate never holds an issuer's private key. `make_key` gives an EC P-256 key and its JWKS entry
(kid = RFC 7638 thumbprint); `issue` signs a card's payload into a numeric `shc:/` text.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gate.codes import shc


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_key() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    """(private key, public JWK with kid, use, alg) of a new issuer key."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
           "y": _b64url(numbers.y.to_bytes(32, "big"))}
    return key, {**jwk, "kid": shc.jwk_thumbprint(jwk), "use": "sig", "alg": "ES256"}


def immunization_card(iss: str, nbf: int, family: str, given: list[str], birth_date: str,
                      doses: list[tuple[str, str]], *, rid: str | None = None, exp: int | None = None) -> dict[str, Any]:
    """A card payload of a person and immunizations [(CVX code, date)]."""
    entries: list[dict[str, Any]] = [{"fullUrl": "resource:0", "resource": {
        "resourceType": "Patient", "name": [{"family": family, "given": given}], "birthDate": birth_date}}]
    for i, (code, when) in enumerate(doses, start=1):
        entries.append({"fullUrl": f"resource:{i}", "resource": {
            "resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": code}]},
            "patient": {"reference": "resource:0"}, "occurrenceDateTime": when,
            "performer": [{"actor": {"display": "Demo Clinic"}}], "lotNumber": f"LOT{i:04d}"}})
    vc: dict[str, Any] = {"type": ["https://smarthealth.cards#health-card"],
                          "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": {
                              "resourceType": "Bundle", "type": "collection", "entry": entries}}}
    if rid is not None:
        vc["rid"] = rid
    payload: dict[str, Any] = {"iss": iss, "nbf": nbf, "vc": vc}
    if exp is not None:
        payload["exp"] = exp
    return payload


def sign_jws(payload: dict[str, Any], key: ec.EllipticCurvePrivateKey, kid: str, *, zip_: str | None = "DEF",
             der_signature: bool = False) -> str:
    """A compact JWS of the payload (minified JSON, raw DEFLATE when zip_ is DEF)."""
    header = {"zip": zip_, "alg": "ES256", "kid": kid} if zip_ else {"alg": "ES256", "kid": kid}
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    if zip_ == "DEF":
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = deflater.compress(raw) + deflater.flush()
    signing_input = f"{_b64url(json.dumps(header, separators=(',', ':')).encode())}.{_b64url(raw)}"
    der = key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = der if der_signature else r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{_b64url(signature)}"


def to_numeric(jws: str) -> str:
    """The `shc:/` numeric text of a JWS: each character as two digits of its code minus 45."""
    return shc.PREFIX + "".join(f"{ord(c) - 45:02d}" for c in jws)


def issue(payload: dict[str, Any], key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    """The `shc:/` text of a signed card."""
    return to_numeric(sign_jws(payload, key, kid))
