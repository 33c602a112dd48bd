"""Venue cards at the kiosk (directives.md "Venue card"): a card in the camera's footage, with the
attendant's button pressed on gpiozero's MockFactory, re-configures the gate through the one
configuration writer and the reloader, and the next person is decided by the new venue's rules.
Any other card changes nothing, and no card ever makes a scan record or moves the relay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from gate.config import load_config
from gate.directives.venue_card import make_card
from gate.hardware.thermometer import SimulatedThermometer
from gate.kiosk import FootageClock, Kiosk
from gate.pipeline import open_pipeline
from gate.reload import Reloader
from gate.vision.sources import ImageFolderSource
from gate.vision.synthetic import code_picture
from tests.directives.conftest import directive_key, dpki  # noqa: F401  (fixtures)
from tests.pki import NOW
from tests.setup.kit import write_gate
from tests.screenkit import RecordingScreen

NEW_COMMUNITY = "360105-001"


class Attendant(RecordingScreen):
    """The gate's screen, watched by an attendant who presses the button (a MockFactory pin)
    whenever a venue card asks for it (or never, with `presses=False`)."""

    def __init__(self, presses: bool = True) -> None:
        super().__init__()
        self.presses = presses
        self.button = None

    def publish(self, state: dict) -> None:
        super().publish(state)
        if self.presses and state.get("kind") == "venue_card" and state.get("stage") == "confirm":
            self.button.drive_low()
            self.button.drive_high()

    def cards(self) -> list[dict]:
        return [s for s in self.states if s["kind"] == "venue_card"]


def footage(folder: Path, shots: list[tuple[int, str | None]]) -> Path:
    """An image folder, one frame a second: at each listed second the QR of a text, else an empty view."""
    folder.mkdir(parents=True)
    last = max(t for t, _ in shots) + 1
    texts = dict(shots)
    for t in range(last):
        text = texts.get(t)
        image = code_picture(text, background_level=255) if text else np.full((480, 640, 3), 255, np.uint8)
        cv2.imwrite(str(folder / f"{t:04d}.png"), image)
    return folder


class Gate:
    """A configured gate on disk, its kiosk over footage on the footage's own clock, a reloader."""

    def __init__(self, tmp_path: Path, pki, footage_dir: Path, attendant: Attendant) -> None:
        self.path = write_gate(tmp_path / "etc", pki.trust_dir, "")
        text = self.path.read_text().replace('sensor = "mlx90614"', 'sensor = "simulated"')
        self.path.write_text(text)
        self.before = self.path.read_text()
        config = load_config(self.path)
        self.clock = FootageClock(NOW)
        self.pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5),
                                      persist_floor=False, clock=self.clock, body_options={"timer": False})
        pins = self.pipeline.body.pin_factory
        attendant.button = pins.pin(config.io.override_button_pin)
        self.relay = pins.pin(config.io.relay_pin)
        self.outcomes: list = []
        self.kiosk = Kiosk(self.pipeline, ImageFolderSource(footage_dir, frame_interval_s=1.0), display=attendant,
                           footage_clock=self.clock, on_outcome=self.outcomes.append)
        self.kiosk.reloader = Reloader(self.path)
        self.store_path = config.store.path
        self.relay_states: list | None = None

    def run(self, close: bool = True) -> None:
        try:
            self.kiosk.run()
        finally:
            if close:
                self.close()

    def close(self) -> None:
        self.relay_states = list(self.relay.states)  # before closing releases the pin
        self.pipeline.close()

    def records(self) -> list[tuple]:
        """(venue id, venue type, decision) of each person's scan; checked against the store's rows."""
        with sqlite3.connect(self.store_path) as conn:
            rows = conn.execute("SELECT id FROM records ORDER BY n").fetchall()
        assert [r[0] for r in rows] == [o.record.id for o in self.outcomes]  # nothing else was recorded
        return [(o.record.venue_id, o.record.venue_type, o.record.decision) for o in self.outcomes]

    def rows(self) -> int:
        with sqlite3.connect(self.store_path) as conn:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]

    def relay_moved(self) -> bool:
        """Whether the relay pin ever left the level the gate set it to at start (shut)."""
        states = self.relay_states if self.relay_states is not None else list(self.relay.states)
        return len({state.state for state in states[1:]}) > 1


def card(key, **kw) -> str:
    args = {"venue_id": "360105-001-east-gate", "venue_type": "residential", "community_codes": (NEW_COMMUNITY,),
            "issued_at": NOW - 60} | kw
    return make_card(key, args.pop("venue_id"), args.pop("venue_type"), **args)


def visitor(pki) -> str:
    """A yellow code whose home is the card's community: a visitor before the card, a resident after."""
    return pki.code("yellow", subject="neighbour", home=NEW_COMMUNITY)


def test_a_card_confirmed_with_the_button_reconfigures_the_gate_and_the_next_person_gets_the_new_rules(
        tmp_path, dpki, directive_key):
    before_card = dpki.code("yellow", subject="early", home=NEW_COMMUNITY)
    text = card(directive_key, device_ids=("gate-test-0001",))
    shots = [(0, before_card), (4, text), (5, text), (9, visitor(dpki))]
    attendant = Attendant()
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", shots), attendant)
    gate.run()

    stages = [s["stage"] for s in attendant.cards()]
    assert stages[:2] == ["confirm", "applied"], stages
    confirm = attendant.cards()[0]
    assert confirm["venue"] == {"id": "360105-001-east-gate", "type": "residential", "community_codes": [NEW_COMMUNITY]}
    assert 0 < confirm["seconds_left"] <= 20 and confirm["zh"] and confirm["en"]
    # the file is rewritten with every comment kept, and only the venue's values changed
    after = gate.path.read_text()
    assert 'id = "360105-001-east-gate"' in after and f'community_codes = ["{NEW_COMMUNITY}"]' in after
    assert [line for line in after.splitlines() if "#" in line] == \
        [line.replace('"360102-012-north-gate"', '"360105-001-east-gate"').replace('["360102-012"]', f'["{NEW_COMMUNITY}"]')
         for line in gate.before.splitlines() if "#" in line]
    assert load_config(gate.path).venue.community_codes == (NEW_COMMUNITY,)
    # the person before the card was a visitor; the next one is a resident of the new venue
    assert gate.records() == [("360102-012-north-gate", "residential", "deny"),
                              ("360105-001-east-gate", "residential", "allow")]
    assert gate.kiosk.reloader.last.ok and gate.kiosk.reloader.last.changed == ("venue",)
    assert (gate.store_path.parent / "venue_cards.json").is_file()  # beside the store


@pytest.mark.parametrize(("make", "reason"), [
    (lambda key, pki: card(key, issued_at=NOW - 10 * 86400, days=7), "card_expired"),
    (lambda key, pki: card(key, device_ids=("gate-elsewhere-0002",)), "card_foreign"),
    (lambda key, pki: card(pki.jx.private_key), "card_not_directive"),
    (lambda key, pki: "JKMV1:" + "6BFOXN" * 8, "card_malformed"),
])
def test_a_card_this_gate_must_not_apply_changes_nothing_and_the_screen_says_why(
        tmp_path, dpki, directive_key, make, reason):
    attendant = Attendant()
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", [(0, make(directive_key, dpki)), (3, visitor(dpki))]),
                attendant)
    gate.run()
    assert [(s["stage"], s["reason"]) for s in attendant.cards()] == [("refused", reason)]
    assert "\n" not in attendant.cards()[0]["en"]
    assert gate.path.read_text() == gate.before
    assert gate.records() == [("360102-012-north-gate", "residential", "deny")]
    assert not gate.relay_moved()


def test_a_card_nobody_confirms_within_20_s_changes_nothing_and_the_button_then_overrides_as_usual(
        tmp_path, dpki, directive_key):
    attendant = Attendant(presses=False)
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", [(0, card(directive_key)), (25, visitor(dpki))]),
                attendant)
    gate.run(close=False)
    assert [s["stage"] for s in attendant.cards()] == ["confirm", "refused"]
    assert attendant.cards()[-1]["reason"] == "card_unconfirmed"
    assert gate.path.read_text() == gate.before
    assert gate.records() == [("360102-012-north-gate", "residential", "deny")]
    assert not gate.relay_moved()
    attendant.button.drive_low()  # the card is gone: the button is the override again
    attendant.button.drive_high()
    assert gate.relay_moved() and gate.rows() == 2
    gate.close()


def test_the_same_card_twice_changes_nothing_the_second_time(tmp_path, dpki, directive_key):
    text = card(directive_key)
    attendant = Attendant()
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", [(0, text), (10, text)]), attendant)
    gate.run()
    after_first = gate.path.read_text()
    assert [s["stage"] for s in attendant.cards()] == ["confirm", "applied", "refused"]
    assert attendant.cards()[-1]["reason"] == "card_repeated"
    assert gate.path.read_text() == after_first
    assert gate.records() == [] and not gate.relay_moved()


def test_the_button_keeps_its_meaning_when_no_card_waits(tmp_path, dpki, directive_key):
    attendant = Attendant()
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", [(0, visitor(dpki)), (2, None)]), attendant)
    gate.run(close=False)
    try:
        attendant.button.drive_low()  # the attendant lets the visitor through: an override, recorded first
        attendant.button.drive_high()
        assert gate.relay_moved()
        assert [o.decision.decision for o in gate.outcomes] == ["deny"] and gate.rows() == 2  # the override's record
    finally:
        gate.close()


def test_a_write_that_fails_validation_changes_nothing_and_the_screen_says_why(tmp_path, dpki, directive_key):
    attendant = Attendant()
    gate = Gate(tmp_path, dpki, footage(tmp_path / "frames", [(0, card(directive_key)), (3, visitor(dpki))]),
                attendant)
    broken = gate.before.replace('offset_c = 0.0 ', 'offset_c = 9.0 ')  # hand-edited meanwhile, out of range
    assert broken != gate.before
    gate.path.write_text(broken)
    gate.run()
    refused = attendant.cards()[-1]
    assert (refused["stage"], refused["reason"]) == ("refused", "card_not_applied")
    assert "offset_c" in refused["en"] and "\n" not in refused["en"]
    assert gate.path.read_text() == broken
    assert gate.records() == [("360102-012-north-gate", "residential", "deny")]  # the old venue's rules
    assert not gate.relay_moved()
