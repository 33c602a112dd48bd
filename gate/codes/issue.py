"""The issuer side: making JKM1 codes and signed trust and status lists.

For tests, demos and a health authority's pilot. A gate never holds an issuer's or an anchor's
private key; these functions are what a platform (or `gate code issue`, `gate keys`) runs.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

import cbor2

from gate.codes import cose
from gate.codes import jkm1 as fmt
from gate.codes import keys as keylib
from gate.vocabulary import CODE_STATUS_NUMBERS

STATUS_CODES = CODE_STATUS_NUMBERS  # status name -> the number a code carries (gate.vocabulary)


@dataclass(frozen=True)
class Issuer:
    """An issuing platform's signing key and its issuer id (e.g. CN-JX)."""

    issuer: str
    private_key: keylib.PrivateKey

    @property
    def alg(self) -> str:
        """EdDSA or ES256, from the key type."""
        return keylib.alg_of(self.private_key)

    @property
    def public_der(self) -> bytes:
        """SubjectPublicKeyInfo DER of the public half."""
        return keylib.spki_der(self.private_key.public_key())

    @property
    def kid(self) -> bytes:
        """The 8-byte key id of health-code.md §2."""
        return keylib.kid_of(self.public_der)


def make_code(
    issuer: Issuer,
    sub: bytes,
    status: int | str,
    iat: int,
    exp: int,
    *,
    cti: bytes | None = None,
    itinerary_risk: bool | None = None,
    home: str | None = None,
    name: str | None = None,
    reason_category: int | None = None,
    compress: bool = True,
) -> str:
    """A signed JKM1 QR text for subject `sub` (16 bytes) with `status` (0-2 or a name)."""
    if isinstance(status, str):
        status = STATUS_CODES[status]
    if len(sub) != 16:
        raise ValueError("sub must be 16 bytes")
    hc: dict[int, Any] = {fmt.HC_ST: status}
    if reason_category is not None:
        hc[fmt.HC_RS] = reason_category
    if itinerary_risk is not None:
        hc[fmt.HC_TRV] = itinerary_risk
    if home is not None:
        hc[fmt.HC_RES] = home
    if name is not None:
        hc[fmt.HC_NM] = name
    claims = {
        fmt.CLAIM_ISS: issuer.issuer,
        fmt.CLAIM_SUB: sub,
        fmt.CLAIM_EXP: exp,
        fmt.CLAIM_IAT: iat,
        fmt.CLAIM_CTI: cti if cti is not None else os.urandom(8),
        fmt.CLAIM_HC: hc,
    }
    protected = cbor2.dumps({cose.HDR_ALG: cose.ALG_IDS[issuer.alg], cose.HDR_KID: issuer.kid})
    payload = cbor2.dumps(claims)
    signature = keylib.sign(issuer.private_key, cose.sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(cose.COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return fmt.encode_text(message, compress=compress)


def trust_entry(
    public_key: keylib.PublicKey, issuer: str, not_before: int, not_after: int, max_validity_s: int
) -> dict[str, Any]:
    """One `keys` entry of a trust list (trust-list.md)."""
    der = keylib.spki_der(public_key)
    return {
        "kid": keylib.b64url(keylib.kid_of(der)),
        "issuer": issuer,
        "alg": keylib.alg_of(public_key),
        "public_key": base64.b64encode(der).decode("ascii"),
        "not_before": not_before,
        "not_after": not_after,
        "max_validity_s": max_validity_s,
    }


def make_trust_list(
    version: int, issued_at: int, expires_at: int, entries: Iterable[dict[str, Any]], revoked_kids: Iterable[str] = (),
    directive_keys: Iterable[dict[str, Any]] = (), sections: dict[str, Any] | None = None,
) -> bytes:
    """The bytes of a trust list document (`directive_keys`: entries of `gate.directives.keys.directive_entry`;
    `sections`: other formats' sections, credentials.md: `dscs`, `shc_issuers`, `pseudonym_salt`)."""
    doc: dict[str, Any] = {
        "version": version,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "keys": list(entries),
        "revoked_kids": list(revoked_kids),
    }
    directive_keys = list(directive_keys)
    if directive_keys:
        doc["directive_keys"] = directive_keys
    doc.update({name: value for name, value in (sections or {}).items() if value})
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def make_status_list(
    version: int, issued_at: int, entries: Iterable[tuple[str, bytes, int, int]], base_version: int = 0,
    revoked_hashes: Iterable[bytes] = (),
) -> bytes:
    """The bytes of a status list (full when base_version is 0, else a delta); entries are (iss, sub, status, since);
    `revoked_hashes` the 16-byte hashes of revoked credentials (credentials.md)."""
    doc: dict[str, Any] = {
        "version": version,
        "base_version": base_version,
        "issued_at": issued_at,
        "entries": [{"iss": iss, "sub": sub.hex(), "status": st, "since": since} for iss, sub, st, since in entries],
    }
    hashes = [h.hex() for h in revoked_hashes]
    if hashes:
        doc["revoked_hashes"] = hashes
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode("utf-8")


def sign_document(anchor: keylib.PrivateKey, data: bytes) -> str:
    """base64 of the anchor's Ed25519 signature over exactly `data` (the `.sig` file's content)."""
    if keylib.alg_of(anchor) != "EdDSA":
        raise ValueError("a trust anchor must be an Ed25519 key")
    return base64.b64encode(keylib.sign(anchor, data)).decode("ascii")
