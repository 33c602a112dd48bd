"""The fleet-wide pseudonym `sub` of a DCC or SHC holder (credentials.md, trust list additions).

No gate stores a name: the holder is known by the first 16 bytes of SHA-256 over the fleet's
salt, the format, and the standardised family name, given name and birth date, each separated by
a zero byte, all text in UTF-8 after NFC normalisation. The same person shows the same pseudonym
at every gate of the fleet for one format; a DCC and an SHC of one person are two subjects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Any


def pseudonym(salt: bytes, fmt: str, family: str, given: str, birth_date: str) -> str:
    """Hex of SHA-256(salt ‖ format ‖ 0 ‖ family ‖ 0 ‖ given ‖ 0 ‖ birth date)[:16]."""
    parts = [unicodedata.normalize("NFC", part).encode("utf-8") for part in (fmt, family, given, birth_date)]
    return hashlib.sha256(salt + b"\x00".join(parts)).digest()[:16].hex()


def salt_of(trust_list: Any) -> bytes | None:
    """The fleet's pseudonym salt from the trust list in force (`pseudonym_salt`, base64 of 32
    bytes), or None when the list has none (then no pseudonym is made: an unsalted hash of a
    name and a birth date could be reversed by trying names)."""
    document = getattr(trust_list, "document", None) or {}
    raw = document.get("pseudonym_salt") if isinstance(document, Mapping) else None
    if not isinstance(raw, str):
        return None
    try:
        salt = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return salt if len(salt) == 32 else None


def masked_name(*parts: str) -> str | None:
    """A holder's name as the gate shows it, masked as JKM1 issuers mask theirs ("王*明"): of each
    word its first and last letter around one star ("Schneider Anna" -> "S*r A*a"); None for no name."""
    words = [w for part in parts for w in part.split() if w]

    def mask(word: str) -> str:
        return word if len(word) == 1 else word[0] + "*" + (word[-1] if len(word) > 2 else "")

    return " ".join(mask(w) for w in words) or None
