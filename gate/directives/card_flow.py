"""The kiosk's side of a venue card (directives.md): show what the gate would become, wait for
the attendant's button, then write and apply; anything else changes nothing.

A card is never a person's scan: nothing here records a scan or moves the relay. The flow
returns the screen's state for each step; the kiosk shows it. Card ids already applied are
remembered in a small file, so the same card shown twice changes nothing the second time.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from gate import fileio
from gate.codes.trust import TrustList
from gate.directives.venue_card import REFUSALS, CardRefused, VenueCard, read_card

log = logging.getLogger("gate.directives")

CONFIRM_S = 20.0
MAX_REMEMBERED = 1000


class UsedCards:
    """The ids of venue cards this gate has applied, kept in a JSON file (newest last)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            ids = json.loads(self.path.read_text())
            self._ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
        except (OSError, ValueError):
            self._ids = []

    def __contains__(self, card_id: bytes) -> bool:
        return card_id.hex() in self._ids

    def add(self, card_id: bytes) -> None:
        """Remember `card_id` (atomically: a crash leaves the old list or the new one)."""
        self._ids = (self._ids + [card_id.hex()])[-MAX_REMEMBERED:]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fileio.replace_atomically(self.path, json.dumps(self._ids).encode())


def _screen(stage: str, en: str, zh: str, card: VenueCard | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"kind": "venue_card", "stage": stage, "en": en, "zh": zh}
    if card is not None:
        state["venue"] = {"id": card.venue_id, "type": card.venue_type,
                          "community_codes": list(card.community_codes)}
    return {**state, **extra}


def refused_screen(reason: str, detail: str = "") -> dict[str, Any]:
    """The one line a refused card shows (English with its detail, and Chinese)."""
    en, zh = REFUSALS[reason]
    return _screen("refused", f"{en}: {detail}" if detail else en, zh, reason=reason)


class VenueCardFlow:
    """One gate's venue-card conversation: shown -> (button within CONFIRM_S) -> applied."""

    def __init__(self, *, device_id: Callable[[], str], trust_list: Callable[[], TrustList | None],
                 write: Callable[[dict[str, Any]], None], used: UsedCards, skew: float = 300) -> None:
        self._device_id = device_id
        self._trust_list = trust_list
        self._write = write
        self._used = used
        self._skew = skew
        self._pending: VenueCard | None = None
        self._deadline = 0.0

    @property
    def pending(self) -> bool:
        """True while a card waits for the attendant's button."""
        return self._pending is not None

    def shown(self, text: str, now: float) -> dict[str, Any]:
        """A card was read by the camera: the screen state to show."""
        try:
            card = read_card(text, self._trust_list(), self._device_id(), now, self._skew)
        except CardRefused as exc:
            log.warning("venue card refused: %s", exc)
            return refused_screen(exc.reason, exc.detail)
        if card.card_id in self._used:
            return refused_screen("card_repeated")
        if self._pending is None or self._pending.card_id != card.card_id:
            self._pending, self._deadline = card, now + CONFIRM_S
        log.info("venue card %s shown: %s (%s); waiting for the attendant", card.card_id.hex(), card.venue_id,
                 card.venue_type)
        return _screen("confirm", "Press the attendant button to set this gate's venue",
                       "请按值守按钮确认更改场所设置", card, seconds_left=max(0.0, self._deadline - now))

    def confirm(self, now: float) -> dict[str, Any] | None:
        """The attendant's button: apply the pending card. None when no card is pending."""
        card = self._take(now)
        if card is None:
            return None
        try:
            self._write(card.settings())
        except Exception as exc:  # noqa: BLE001  (any failure to write or apply changes nothing)
            log.error("venue card %s not applied: %s", card.card_id.hex(), exc)
            return refused_screen("card_not_applied", str(exc).splitlines()[0] if str(exc) else "")
        self._used.add(card.card_id)
        log.info("venue card %s applied: venue %s (%s)", card.card_id.hex(), card.venue_id, card.venue_type)
        return _screen("applied", "Venue set", "场所已设置", card)

    def expire(self, now: float) -> dict[str, Any] | None:
        """Called on every tick: a pending card not confirmed in time is dropped (the screen says so)."""
        if self._pending is not None and now > self._deadline:
            self._pending = None
            return refused_screen("card_unconfirmed")
        return None

    def _take(self, now: float) -> VenueCard | None:
        if self.expire(now) is not None or self._pending is None:
            return None
        card, self._pending = self._pending, None
        return card
