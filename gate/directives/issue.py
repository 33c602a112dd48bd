"""The collector's side of directives: making bulletins and signing them with a directive key."""

from __future__ import annotations

import base64
import json
from typing import Any, Iterable

from gate.codes import keys as keylib
from gate.directives.bulletin import parse_bulletin


def make_bulletin(version: int, issued_at: int, effective_at: int, note: str,
                  settings: Iterable[dict[str, Any]]) -> bytes:
    """The bytes of a bulletin document; BulletinError when a gate would refuse it."""
    doc = {"version": version, "issued_at": issued_at, "effective_at": effective_at, "note": note,
           "settings": list(settings)}
    data = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    parse_bulletin(data)
    return data


def sign_directive(key: keylib.PrivateKey, data: bytes) -> str:
    """base64 of the directive key's Ed25519 signature over exactly `data` (a `.sig` file's content)."""
    if keylib.alg_of(key) != "EdDSA":
        raise ValueError("a directive key must be an Ed25519 key")
    return base64.b64encode(keylib.sign(key, data)).decode("ascii")
