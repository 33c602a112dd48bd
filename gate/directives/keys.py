"""Directive keys: the keys a trust list delegates to sign bulletins and venue cards.

The trust anchor stays offline and vouches for them in the trust list's `directive_keys`
(trust-list.md, directives.md). A directive key never signs a health code and an issuer key
never signs a directive: the two live in separate tables of the trust list in force.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Iterable

from gate.codes import keys as keylib


@dataclass(frozen=True, slots=True)
class DirectiveKey:
    """One directive key of the trust list in force."""

    kid: bytes
    alg: str
    public_key: keylib.PublicKey
    not_before: int
    not_after: int

    def in_force(self, now: float, skew: float = 0.0) -> bool:
        """True when `now` lies inside the key's validity (give or take `skew` seconds)."""
        return self.not_before - skew <= now <= self.not_after + skew


def parse_directive_key(entry: Any) -> DirectiveKey:
    """One `directive_keys` entry; ValueError (one line) when it cannot be used."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    try:
        der = base64.b64decode(entry["public_key"], validate=True)
        kid = keylib.b64url_decode(entry["kid"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ValueError("kid and public_key must be base64url and base64") from None
    if kid != keylib.kid_of(der):
        raise ValueError("kid does not match the public key")
    public_key = keylib.public_key_from_der(der)
    alg = entry.get("alg")
    if alg != keylib.alg_of(public_key):
        raise ValueError(f"alg {alg!r} does not match the key type")
    bounds = [entry.get("not_before"), entry.get("not_after")]
    if any(type(b) is not int or b < 0 for b in bounds):
        raise ValueError("not_before and not_after must be non-negative integers")
    return DirectiveKey(kid=kid, alg=alg, public_key=public_key, not_before=bounds[0], not_after=bounds[1])


def parse_directive_keys(entries: Any) -> tuple[dict[bytes, DirectiveKey], list[str]]:
    """The usable directive keys by kid, and a line for each entry left out."""
    if entries is None:
        return {}, []
    if not isinstance(entries, list):
        raise ValueError("'directive_keys' must be an array")
    keys: dict[bytes, DirectiveKey] = {}
    ignored = []
    for n, entry in enumerate(entries):
        try:
            key = parse_directive_key(entry)
        except ValueError as exc:
            ignored.append(f"directive_keys[{n}]: {exc}")
            continue
        keys[key.kid] = key
    return keys, ignored


def directive_entry(public_key: keylib.PublicKey, not_before: int, not_after: int) -> dict[str, Any]:
    """One `directive_keys` entry of a trust list (the issuer side)."""
    der = keylib.spki_der(public_key)
    return {
        "kid": keylib.b64url(keylib.kid_of(der)),
        "alg": keylib.alg_of(public_key),
        "public_key": base64.b64encode(der).decode("ascii"),
        "not_before": not_before,
        "not_after": not_after,
    }


def verify_detached(keys: Iterable[DirectiveKey], signature: bytes, data: bytes, now: float,
                    skew: float = 0.0) -> DirectiveKey | None:
    """The directive key in force whose signature `signature` is over `data`, or None."""
    for key in keys:
        if key.in_force(now, skew) and keylib.verify_signature(key.public_key, key.alg, signature, data):
            return key
    return None
