"""What one sync round did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RoundResult:
    """What one sync round did.

    `uploaded` counts the records the collector newly stored in this round, whichever request
    stored them (an alert stored through /v1/alerts counts here once, not again as a duplicate
    when its batch follows); `duplicates` the records it already held from an earlier send whose
    answer never came. `error` is None when the round ran to the end (queue empty, or stopped on
    request), else one line saying why it stopped; `stopped_by` is then "network" (timeouts,
    refused or reset connections, answers too slow or too large), "unavailable" (429/5xx),
    "auth" (401/403), "protocol" (an answer that makes no sense) or "store" (the local store
    failed). `next_attempt_in`: seconds until the next round should start (the backoff; 0 after
    a good round). `list_problems`: lists that were refused or could not be fetched.
    """

    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts_sent: int = 0
    trust_updated: bool = False
    status_updated: bool = False
    bulletin_updated: bool = False
    lists_fetched: bool = False
    remaining: int = 0
    error: str | None = None
    next_attempt_in: float = 0.0
    stopped_by: str | None = None
    list_problems: list[str] = field(default_factory=list)
    pruned: int = 0
    retries: int = 0
    heartbeat_sent: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def moved(self) -> bool:
        """Whether the round moved records forward (delivered, rejected or sent as alerts)."""
        return bool(self.uploaded or self.duplicates or self.rejected or self.alerts_sent)

    def summary(self) -> str:
        """One line for a person or the journal."""
        parts = [f"{self.uploaded} uploaded", f"{self.duplicates} already there",
                 f"{self.rejected} rejected", f"{self.alerts_sent} alerts",
                 f"{self.remaining} still queued"]
        if self.trust_updated:
            parts.append("trust list updated")
        if self.status_updated:
            parts.append("status list updated")
        if self.bulletin_updated:
            parts.append("bulletin updated")
        text = "sync: " + ", ".join(parts)
        if self.error:
            text += f"; stopped: {self.error}"
            if self.next_attempt_in:
                text += f" (next try in {self.next_attempt_in:.0f} s)"
        return text
