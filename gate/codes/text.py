"""What a code says, made safe to show and to record for display.

A code's text claims (name, home, issuer) are chosen by whoever made the code. Unicode format
characters (category Cf: the bidirectional controls U+202A-202E and U+2066-2069, zero-width
joiners, ...) can turn the screen's text around ("LIVE" shown as "EVIL"), and control characters
(Cc) and line or paragraph separators (Zl, Zp) can break a line or a log. They carry nothing a
person should read, so they are removed, once, where the claims become a verification result.
"""

from __future__ import annotations

import unicodedata

_REMOVED_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp"})


def shown_text(text: str) -> str:
    """`text` without format, control and line/paragraph-separator characters."""
    if text.isprintable() and text.isascii():
        return text  # the common case, nothing to remove
    return "".join(ch for ch in text if unicodedata.category(ch) not in _REMOVED_CATEGORIES)


def shown_or_none(text: str | None) -> str | None:
    """`shown_text` of a claim that may be absent."""
    return None if text is None else shown_text(text)
