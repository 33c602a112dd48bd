"""The record store's one failure, and which fault (gate.faults) it is.

Every SQLite or OS failure of the store becomes `StoreUnavailable` with a one-line message; its
`fault` names the condition for the screen, the doctor and the heartbeat: ``store_full`` (no room
left on the card), ``store_read_only`` (the file system went read-only, as an SD card does after
errors), ``store_corrupt`` (SQLite found the file damaged) or ``store_unavailable`` (anything else).
"""

from __future__ import annotations

import errno
import sqlite3

from gate.faults import fault as _known_fault
from gate.errors import GateError

_CORRUPT_CODES = {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}
_FULL_CODES = {getattr(sqlite3, "SQLITE_FULL", 13)}
_READONLY_CODES = {getattr(sqlite3, "SQLITE_READONLY", 8)}


class StoreUnavailable(GateError):
    """The record store cannot be read or written; the message is one line saying why.

    `fault` is the gate.faults code of the condition (store_full, store_read_only,
    store_corrupt or store_unavailable).
    """

    def __init__(self, message: str, fault: str = "store_unavailable") -> None:
        super().__init__(message)
        self.fault = _known_fault(fault).code


def classify(exc: BaseException) -> str:
    """The fault code of a failure met while using the store."""
    if isinstance(exc, StoreUnavailable):
        return exc.fault
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
            return "store_full"
        if exc.errno == errno.EROFS:
            return "store_read_only"
        return "store_unavailable"
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc).lower()
        if primary in _FULL_CODES or "database or disk is full" in text:
            return "store_full"
        if primary in _READONLY_CODES or "readonly" in text or "read-only" in text:
            return "store_read_only"
        if primary in _CORRUPT_CODES or "malformed" in text or "not a database" in text:
            return "store_corrupt"
    return "store_unavailable"
