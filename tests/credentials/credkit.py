"""A trust source for credential tests: a real trust list document (parsed by gate.codes.trust)
with the credentials.md sections, and a set of revoked hashes standing in for the status list's."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from gate.codes import dcc, keys
from gate.codes.trust import TrustList, parse_trust_list

SALT = bytes(range(32))


@dataclass
class Trust:
    """What a format's verify asks of the trust store (gate.codes.formats.TrustSource)."""

    trust_list: TrustList
    revoked_hashes: set[bytes] = field(default_factory=set)

    def status_of(self, iss: str, sub: bytes) -> None:
        return None

    def is_revoked_hash(self, digest: bytes) -> bool:
        return digest in self.revoked_hashes


def trust(dsc_certs: Iterable[bytes] = (), shc_issuers: dict[str, Any] | None = None, *, salt: bytes | None = SALT,
          revoked_kids: Iterable[bytes] = (), countries: dict[bytes, str] | None = None) -> Trust:
    """A trust source whose list holds these DSCs (DER) and SHC issuers ({iss: jwks})."""
    entries = []
    for der in dsc_certs:
        entry = dcc.dsc_entry(dcc.dsc_from_der(der, (countries or {}).get(der)))
        entries.append(entry)
    doc: dict[str, Any] = {
        "version": 1, "issued_at": 0, "expires_at": 2**40, "keys": [],
        "revoked_kids": [keys.b64url(k) for k in revoked_kids],
        "dscs": entries,
        "shc_issuers": [{"iss": iss, "jwks": jwks} for iss, jwks in (shc_issuers or {}).items()],
    }
    if salt is not None:
        doc["pseudonym_salt"] = base64.b64encode(salt).decode()
    return Trust(parse_trust_list(json.dumps(doc).encode()))
