"""Why sync cannot start, and why a request or a round cannot go on."""

from __future__ import annotations
from gate.errors import GateError

# Kinds of Stop that the same request may be tried again for, within the round (upload.md).
TRANSIENT = frozenset({"network", "unavailable"})


class SyncSetupError(GateError, ValueError):
    """Sync cannot start (device key missing or unusable); the message is one line."""


class Stop(GateError):
    """A request failed so that the round cannot go on.

    `kind` is "network" (timeouts, refused or reset connections, an answer too slow or too
    large), "unavailable" (429/5xx), "auth" (401/403), "protocol" (an answer that makes no sense)
    or "store" (the local store failed). `retry_after` is the collector's Retry-After in seconds.
    """

    def __init__(self, kind: str, message: str, retry_after: float | None = None,
                 status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
        self.code = code

    @property
    def transient(self) -> bool:
        """True when the same request may succeed if sent again (upload.md: transient)."""
        return self.kind in TRANSIENT


def one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__
