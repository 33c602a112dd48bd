"""The gate's id alphabet, once: what a device id (and a venue id) may be, wherever one is read.

An id is 1 to 64 characters from ``A-Z a-z 0-9 . _ -`` and is not ``.`` or ``..`` (an id names a
file, a URL path segment and a terminal line; none of those may be walked out of or written
into). The gate's configuration, the collector's device API, its commands and its console all
ask `is_id`; `id_problem` gives the one sentence a person reads when one is refused.

This module imports nothing of the gate: every other part may import it.
"""

from __future__ import annotations

import re
from typing import Any

ID_MAX_LENGTH = 64
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
ID_RULE = "1 to 64 letters, digits, '.', '_' or '-', not '.' or '..'"


def is_id(value: Any) -> bool:
    """True when `value` is a string in the gate's id alphabet (module docstring)."""
    return (isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
            and value not in (".", ".."))


def shown(value: Any, limit: int = 80) -> str:
    """`value` quoted and safe to print on a terminal or in a log line: control and non-ASCII
    characters as escapes (``\\x1b``, ``\\n``, ``\\u202e``), at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                      for c in escaped)
    if len(escaped) > limit:
        escaped = escaped[:limit] + "..."
    return f'"{escaped}"'


def id_problem(value: Any, what: str = "device id") -> str | None:
    """None when `value` is an id; else the one-line reason it is refused, naming `what`."""
    if is_id(value):
        return None
    return f"{what} {shown(value)} is not allowed: use {ID_RULE}"
