"""What the kiosk puts on the screen: one `ScreenState` value per change, serialised once
(`to_json`) for gate/display, and how long the panel holds it before the live view returns.

A state is a decision (one person's result), a venue card's step (confirm, applied, refused),
idle (the live view, with the setup page's certificate) or a fault change (only the banner).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gate.pipeline import ScanOutcome

log = logging.getLogger(__name__)

DECISION_SHOWN_S = 4.0  # how long a decision (or a card's outcome) stays before the live view returns


class Display(Protocol):
    """What the kiosk needs of the screen (gate.display.DisplayServer)."""

    def publish(self, state: dict[str, Any]) -> None: ...

    def publish_frame(self, jpeg: bytes) -> None: ...


@dataclass(frozen=True)
class DecisionView:
    """One person's decision as the screen shows it."""

    decision: str
    reasons: tuple[str, ...]
    message_zh: str
    message_en: str
    temperature_c: float | None
    name: str | None
    status: str | None
    clock_trusted: bool
    at: str
    record_id: str | None

    @classmethod
    def of(cls, outcome: "ScanOutcome") -> "DecisionView":
        return cls(
            decision=outcome.decision.decision,
            reasons=tuple(outcome.decision.reasons),
            message_zh=outcome.decision.message_zh,
            message_en=outcome.decision.message_en,
            temperature_c=outcome.reading.temperature_c,
            name=outcome.code.name,
            status=outcome.code.status,
            clock_trusted=outcome.gate_time.trusted,
            at=outcome.record.scanned_at,
            record_id=outcome.record.id if outcome.committed else None,
        )


@dataclass(frozen=True)
class CardView:
    """A venue card's step (gate.directives.card_flow): confirm, applied or refused, in both languages."""

    stage: str
    en: str
    zh: str
    venue: dict[str, Any] | None = None  # {"id", "type", "community_codes"}: what the gate becomes
    seconds_left: float | None = None  # confirm: the attendant's time left to press the button
    reason: str | None = None  # refused: the reason code (venue_card.REFUSALS)

    @classmethod
    def of(cls, step: dict[str, Any]) -> "CardView":
        """From the flow's screen state."""
        seconds = step.get("seconds_left")
        return cls(stage=step["stage"], en=step["en"], zh=step["zh"], venue=step.get("venue"),
                   seconds_left=round(float(seconds), 1) if seconds is not None else None,
                   reason=step.get("reason"))


@dataclass(frozen=True)
class ScreenState:
    """One thing to show. `faults` None leaves the banner as it is."""

    kind: str  # decision | venue_card | idle | fault
    faults: tuple[str, ...] | None = None
    decision: DecisionView | None = None
    card: CardView | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # idle: shown beside the live view (setup_fingerprint)

    @classmethod
    def for_decision(cls, outcome: "ScanOutcome") -> "ScreenState":
        return cls("decision", decision=DecisionView.of(outcome))

    @classmethod
    def for_card(cls, step: dict[str, Any]) -> "ScreenState":
        return cls("venue_card", card=CardView.of(step))

    @classmethod
    def idle(cls, faults: list[str] | None, extra: dict[str, Any] | None = None) -> "ScreenState":
        return cls("idle", faults=tuple(faults or ()), extra=tuple((extra or {}).items()))

    @classmethod
    def fault(cls, faults: list[str]) -> "ScreenState":
        return cls("fault", faults=tuple(faults))

    def to_json(self) -> dict[str, Any]:
        """The state as gate/display takes it (a JSON object), made once per state."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.decision is not None:
            out.update(asdict(self.decision), reasons=list(self.decision.reasons))
        if self.card is not None:
            out.update({k: v for k, v in asdict(self.card).items() if v is not None})
        if self.faults is not None:
            out["faults"] = list(self.faults)
        out.update(dict(self.extra))
        return out


class ScreenPublisher:
    """Sends states to the screen (a screen fault never stops the gate) and holds the panel:
    a decision or a card's step stays until its time is up on the kiosk's timeline."""

    def __init__(self, display: Display | None) -> None:
        self.display = display
        self.held_until = 0.0

    def show(self, state: ScreenState, *, hold_until: float | None = None) -> None:
        """Show `state`; with `hold_until`, the live view does not replace it before then."""
        if hold_until is not None:
            self.held_until = hold_until
        if self.display is None:
            return
        try:
            self.display.publish(state.to_json())
        except Exception:  # noqa: BLE001  (a screen fault must not stop the gate)
            log.warning("screen update failed", exc_info=True)

    def held(self, now: float) -> bool:
        """True while the panel still holds a decision or a card's step."""
        return now < self.held_until

    def release(self) -> bool:
        """The hold is over: True once, when the panel must go back to idle."""
        was = bool(self.held_until)
        self.held_until = 0.0
        return was


def decision_state(outcome: "ScanOutcome") -> dict[str, Any]:
    """What the screen shows for one decision (the JSON of ScreenState.for_decision)."""
    return ScreenState.for_decision(outcome).to_json()
