"""The venue card (directives.md): a `JKMV1:` QR code that sets up one gate's venue.

`read_card` takes untrusted QR text and either returns a `VenueCard` this gate may apply or
raises `CardRefused` carrying a reason code and one line that says why, for the screen. It
never raises anything else: a card is read with the same bounds as a health code (4096
characters, 8192 bytes inflated, shallow CBOR) through gate.codes.base45's and gate.codes.cose's readers.
`make_card` is the collector's side.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from gate.codes import base45, cose
from gate.codes.jkmv1 import JKMV1, PREFIX
from gate.codes.result import FormatError
from gate.codes import keys as keylib
from gate.codes.trust import TrustList
from gate.config import VENUE_TYPES
from gate.errors import GateError
from gate.ids import is_id

MAX_VALIDITY_S = 30 * 86400
CARD_ID_BYTES = 8

# reason code -> (English, Chinese): the one line the screen shows for a card it will not apply.
REFUSALS: dict[str, tuple[str, str]] = {
    "card_malformed": ("Not a readable venue card", "无法识别的场所卡"),
    "card_not_directive": ("Venue card not signed by a directive key of the trust list", "场所卡签名密钥不受信任"),
    "card_bad_signature": ("Venue card signature does not verify", "场所卡签名无效"),
    "card_not_yet_valid": ("Venue card not valid yet", "场所卡尚未生效"),
    "card_expired": ("Venue card expired", "场所卡已过期"),
    "card_foreign": ("Venue card is for another gate", "场所卡不属于本闸机"),
    "card_repeated": ("Venue card already applied", "场所卡已使用"),
    "card_unconfirmed": ("Venue card not confirmed in time: nothing changed", "未及时确认，设置未更改"),
    "card_not_applied": ("Venue card could not be applied: nothing changed", "场所卡无法应用，设置未更改"),
}


class CardRefused(GateError, ValueError):
    """A venue card this gate will not apply; `reason` is a key of REFUSALS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        en, _ = REFUSALS[reason]
        super().__init__(f"{en}: {detail}" if detail else en)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VenueCard:
    """A verified venue card: what the gate would become."""

    card_id: bytes
    issued_at: int
    expires_at: int
    venue_id: str
    venue_type: str
    community_codes: tuple[str, ...]
    device_ids: tuple[str, ...]

    def settings(self) -> dict[str, Any]:
        """The configuration keys the card sets ("section.key" -> value)."""
        return {"venue.id": self.venue_id, "venue.type": self.venue_type,
                "venue.community_codes": list(self.community_codes)}


def is_card_text(text: str) -> bool:
    """True when `text` claims to be a venue card (by its prefix), valid or not."""
    return isinstance(text, str) and text.startswith(PREFIX)


def _cose_parts(text: str) -> tuple[dict, bytes, bytes, bytes]:
    if len(text) > JKMV1.max_text_chars:
        raise CardRefused("card_malformed", "text too long")
    try:
        obj = cose.cbor_loads(cose.inflate(base45.b45decode(text[len(PREFIX):])))
        if not isinstance(obj, cbor2.CBORTag) or obj.tag != cose.COSE_SIGN1_TAG:
            raise CardRefused("card_malformed", "not a tagged COSE_Sign1")
        parts = obj.value
        if not isinstance(parts, (list, tuple)) or len(parts) != 4:
            raise CardRefused("card_malformed", "COSE_Sign1 must be an array of four")
        protected, _, payload, signature = parts
        if not all(type(p) is bytes for p in (protected, payload, signature)):
            raise CardRefused("card_malformed", "COSE parts have the wrong types")
        header = cose.cbor_loads(protected) if protected else {}
    except FormatError as exc:
        raise CardRefused("card_malformed", str(exc)) from None
    if not isinstance(header, Mapping):
        raise CardRefused("card_malformed", "protected header is not a map")
    return dict(header), protected, payload, signature


def _claims(payload: bytes) -> VenueCard:
    try:
        claims = cose.cbor_loads(payload)
    except FormatError as exc:
        raise CardRefused("card_malformed", str(exc)) from None
    if not isinstance(claims, Mapping):
        raise CardRefused("card_malformed", "payload is not a map")
    card_id, issued_at, expires_at = claims.get(1), claims.get(2), claims.get(3)
    venue_id, venue_type = claims.get(4), claims.get(5)
    communities, devices = claims.get(6, []), claims.get(7, [])
    if type(card_id) is not bytes or len(card_id) != CARD_ID_BYTES:
        raise CardRefused("card_malformed", "card id must be 8 bytes")
    if any(type(t) is not int or t < 0 for t in (issued_at, expires_at)):
        raise CardRefused("card_malformed", "issued_at and expires_at must be unsigned integers")
    if not issued_at < expires_at <= issued_at + MAX_VALIDITY_S:
        raise CardRefused("card_malformed", "validity must be positive and at most 30 days")
    if not is_id(venue_id):
        raise CardRefused("card_malformed", "venue id must be 1-64 letters, digits or ._-")
    if venue_type not in VENUE_TYPES:
        raise CardRefused("card_malformed", f"unknown venue type {venue_type!r}")
    for name, listed in (("community codes", communities), ("device ids", devices)):
        if not isinstance(listed, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in listed):
            raise CardRefused("card_malformed", f"{name} must be an array of text")
    return VenueCard(card_id=card_id, issued_at=issued_at, expires_at=expires_at, venue_id=venue_id,
                     venue_type=venue_type, community_codes=tuple(communities), device_ids=tuple(devices))


def card_claims(text: str) -> VenueCard:
    """What a card says, its signature NOT checked: for printing a card one has just made."""
    if not is_card_text(text):
        raise CardRefused("card_malformed", "no JKMV1: prefix")
    return _claims(_cose_parts(text)[2])


def read_card(text: str, trust_list: TrustList | None, device_id: str, now: float, skew: float = 300) -> VenueCard:
    """The venue card in `text`, verified for this gate at `now`; CardRefused otherwise."""
    if not is_card_text(text):
        raise CardRefused("card_malformed", "no JKMV1: prefix")
    header, protected, payload, signature = _cose_parts(text)
    kid = header.get(cose.HDR_KID)
    if header.get(cose.HDR_ALG) != cose.ALG_IDS["EdDSA"] or type(kid) is not bytes:
        raise CardRefused("card_malformed", "protected header needs alg EdDSA and a kid")
    key = trust_list.directive_keys.get(kid) if trust_list is not None else None
    if key is None:
        detail = "signed by a health-code issuer key" if trust_list is not None and kid in trust_list.keys else ""
        raise CardRefused("card_not_directive", detail)
    if not keylib.verify_signature(key.public_key, key.alg, signature, cose.sig_structure(protected, payload)):
        raise CardRefused("card_bad_signature")
    if not key.in_force(now, skew):
        raise CardRefused("card_not_directive", "the directive key is outside its validity")
    card = _claims(payload)
    if now + skew < card.issued_at:
        raise CardRefused("card_not_yet_valid")
    if now > card.expires_at:
        raise CardRefused("card_expired")
    if card.device_ids and device_id not in card.device_ids:
        raise CardRefused("card_foreign")
    return card


def make_card(key: keylib.PrivateKey, venue_id: str, venue_type: str, *, community_codes: tuple[str, ...] = (),
              device_ids: tuple[str, ...] = (), issued_at: int, days: float = 7,
              card_id: bytes | None = None) -> str:
    """A signed `JKMV1:` text (the collector's side, with its directive key)."""
    if keylib.alg_of(key) != "EdDSA":
        raise ValueError("a directive key must be an Ed25519 key")
    kid = keylib.kid_of(keylib.spki_der(key.public_key()))
    protected = cbor2.dumps({cose.HDR_ALG: cose.ALG_IDS["EdDSA"], cose.HDR_KID: kid})
    payload = cbor2.dumps({
        1: card_id or os.urandom(CARD_ID_BYTES),
        2: issued_at,
        3: issued_at + int(days * 86400),
        4: venue_id,
        5: venue_type,
        6: list(community_codes),
        7: list(device_ids),
    })
    signature = keylib.sign(key, cose.sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(cose.COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(message, 9))
