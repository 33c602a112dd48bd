"""Base45 (RFC 9285): the text form of JKM1 codes, venue cards and EU DCCs.

Strict decoding: any character outside the alphabet, a dangling character or a value past what
two bytes can hold is `FormatError("malformed")`. The alphabet is also the QR code's
alphanumeric mode (the one definition in the gate).
"""

from __future__ import annotations

from gate.codes.result import FormatError

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# byte -> base45 value, 255 for bytes outside the alphabet
_BASE45_TABLE = bytes(BASE45_ALPHABET.index(chr(b)) if chr(b) in BASE45_ALPHABET else 255 for b in range(256))

# For bytes.translate(None, delete): what is left after deleting digits below 32 / up to 32.
_BELOW_32 = bytes(range(32))
_UP_TO_32 = bytes(range(33))


def b45decode(text: str) -> bytes:
    """Strict base45 (RFC 9285 §4.2 and §6): raises FormatError('malformed') on any fault.

    A Python loop over the triplets would cost half a signature check, so the work is done by
    C loops: the characters become digit values with one `translate`, and the digits of all
    triplets are summed at once as three big integers with one 16-bit slot per triplet.
    """
    try:
        values = text.encode("ascii").translate(_BASE45_TABLE)
    except UnicodeEncodeError:
        raise FormatError("malformed", "character outside the base45 alphabet") from None
    n = len(values)
    if n % 3 == 1:
        raise FormatError("malformed", "base45 has a dangling character")
    if values.find(0xFF) >= 0:
        raise FormatError("malformed", "character outside the base45 alphabet")
    full = n - n % 3
    firsts, seconds, thirds = values[0:full:3], values[1:full:3], values[2:full:3]
    if thirds.translate(None, _BELOW_32) and _triplet_overflows(firsts, seconds, thirds):
        raise FormatError("malformed", "base45 triplet above 65535")
    slots = bytearray(2 * len(thirds))
    slots[1::2] = firsts
    number = int.from_bytes(slots, "big")
    slots[1::2] = seconds
    number += 45 * int.from_bytes(slots, "big")
    slots[1::2] = thirds
    number += 2025 * int.from_bytes(slots, "big")
    out = number.to_bytes(len(slots), "big")
    if full != n:
        last = values[-2] + values[-1] * 45
        if last > 0xFF:
            raise FormatError("malformed", "base45 final pair above 255")
        out += bytes((last,))
    return out


def _triplet_overflows(firsts: bytes, seconds: bytes, thirds: bytes) -> bool:
    """True when a triplet's value c + 45 d + 2025 e passes 65535.

    A third digit below 32 never does (31 * 2025 + 44 * 46 < 65536), one above 32 always
    does, so only the triplets whose third digit is exactly 32 need their sum.
    """
    if thirds.translate(None, _UP_TO_32):  # a digit above 32 (a C loop; max() would box each byte)
        return True
    at = thirds.find(32)
    while at >= 0:
        if firsts[at] + 45 * seconds[at] > 0xFFFF - 32 * 2025:
            return True
        at = thirds.find(32, at + 1)
    return False


def base45_well_formed(body: str) -> bool:
    """Whether `body` could be base45 at all: non-empty, every character in the alphabet, and a
    length base45 can have (not 1 more than a multiple of 3). Cheaper than decoding; no value checks."""
    if not body or len(body) % 3 == 1:
        return False
    try:
        return body.encode("ascii").translate(_BASE45_TABLE).find(0xFF) < 0
    except UnicodeEncodeError:
        return False


def b45encode(data: bytes) -> str:
    """base45 (RFC 9285 §4)."""
    alphabet = BASE45_ALPHABET
    out = []
    for i in range(0, len(data) - 1, 2):
        x = data[i] * 256 + data[i + 1]
        e, x = divmod(x, 2025)
        d, c = divmod(x, 45)
        out.append(alphabet[c] + alphabet[d] + alphabet[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(alphabet[c] + alphabet[d])
    return "".join(out)
