"""Venue cards at the kiosk (directives.md, "Venue card"): a card the camera reads goes here,
never to the decision path, so it makes no scan record and never moves the relay.

The card's conversation is gate.directives.card_flow's `VenueCardFlow`; this part connects it to
the kiosk: the attendant's button (`press`, on gpiozero's thread) is taken for the card while
one waits, and the confirmation itself runs on the kiosk's loop (`tick`, between two scans), where
`apply` writes the venue keys through the one configuration writer and reloads, so the next
person is decided by the new venue's rules.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from gate.directives.card_flow import CONFIRM_S, UsedCards, VenueCardFlow, refused_screen
from gate.kiosk.screen import ScreenState

log = logging.getLogger(__name__)

USED_CARDS_FILE = "venue_cards.json"  # in the state folder, beside the record store


def used_cards_path(state_folder: Path | None) -> Path | None:
    """Where a gate keeps the ids of the venue cards it applied."""
    return Path(state_folder) / USED_CARDS_FILE if state_folder is not None else None


class VenueCards:
    """One gate's venue cards: shown -> the button within CONFIRM_S -> applied; else refused."""

    def __init__(self, *, device_id: Callable[[], str], trust_list: Callable[[], Any], now: Callable[[], float],
                 used_path: Path | None, apply: Callable[[dict[str, Any]], None],
                 can_apply: Callable[[], bool] = lambda: True, skew: float = 300.0) -> None:
        self._now = now
        self._apply = apply
        self._can_apply = can_apply
        self._used_path = used_path
        self._flow = VenueCardFlow(device_id=device_id, trust_list=trust_list, write=self._write,
                                   used=_KeptUsedCards(used_path) if used_path is not None else _NoUsedCards(),
                                   skew=skew)
        self._lock = threading.Lock()
        self._pressed = False
        self._outbox: dict[str, Any] | None = None

    @property
    def pending(self) -> bool:
        """True while a card waits for the attendant's button."""
        with self._lock:
            return self._flow.pending

    def shown(self, text: str) -> ScreenState:
        """The camera read a venue card: what the screen shows now."""
        with self._lock:
            if self._used_path is None or not self._can_apply():
                return ScreenState.for_card(refused_screen(
                    "card_not_applied", "this gate runs without a configuration file to write"))
            return ScreenState.for_card(self._flow.shown(text, self._now()))

    def press(self) -> bool:
        """The attendant's button (gpiozero's thread): True when it is taken to confirm a card."""
        with self._lock:
            gone = self._flow.expire(self._now())
            if gone is not None:  # too late: the screen says so, the press keeps its usual meaning
                self._outbox = gone
                return False
            if not self._flow.pending:
                return False
            self._pressed = True
            log.info("attendant button: venue card confirmed")
            return True

    def tick(self) -> ScreenState | None:
        """On the kiosk's loop, between scans: apply a confirmed card, drop one not confirmed in
        time; the screen's state for what happened, or None."""
        with self._lock:
            if self._pressed:
                self._pressed = False
                try:
                    step = self._flow.confirm(self._now())
                except Exception as exc:  # noqa: BLE001  (a card must never take the loop down)
                    log.exception("venue card not applied")
                    step = refused_screen("card_not_applied", str(exc).splitlines()[0] if str(exc) else "")
            else:
                step, self._outbox = self._outbox, None
                step = step or self._flow.expire(self._now())
        return ScreenState.for_card(step) if step is not None else None

    def _write(self, settings: dict[str, Any]) -> None:
        self._apply(settings)


class _KeptUsedCards(UsedCards):
    """UsedCards whose file cannot be written is logged, not raised: the card is applied already,
    and applying it again would only set the same values."""

    def add(self, card_id: bytes) -> None:
        try:
            super().add(card_id)
        except OSError as exc:
            log.error("venue card %s applied but not remembered in %s: %s", card_id.hex(), self.path, exc)


class _NoUsedCards:
    """No state folder: nothing is remembered (and nothing is applied: see VenueCards.shown)."""

    def __contains__(self, card_id: bytes) -> bool:
        return False

    def add(self, card_id: bytes) -> None:
        pass


__all__ = ["CONFIRM_S", "USED_CARDS_FILE", "VenueCards", "used_cards_path"]
