"""The screen state: one value per change, serialised once in the shape gate/display takes, and
the panel held by a decision or a card until its time is up."""

from __future__ import annotations

import dataclasses

import pytest

from gate.display.app import DisplayApp
from gate.kiosk.screen import ScreenPublisher, ScreenState
from tests.screenkit import RecordingScreen


def test_states_are_values_not_dicts():
    state = ScreenState.idle(["camera_lost"], {"setup_fingerprint": "ab:cd"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.kind = "decision"  # type: ignore[misc]
    assert state.to_json() == {"kind": "idle", "faults": ["camera_lost"], "setup_fingerprint": "ab:cd"}
    assert ScreenState.fault([]).to_json() == {"kind": "fault", "faults": []}


def test_a_card_step_serialises_without_empty_fields_and_the_display_takes_it():
    state = ScreenState.for_card({"kind": "venue_card", "stage": "confirm", "en": "Press", "zh": "请按",
                                  "venue": {"id": "v", "type": "metro", "community_codes": []},
                                  "seconds_left": 19.96})
    out = state.to_json()
    assert out == {"kind": "venue_card", "stage": "confirm", "en": "Press", "zh": "请按",
                   "venue": {"id": "v", "type": "metro", "community_codes": []}, "seconds_left": 20.0}
    app = DisplayApp()
    app.publish(out)
    assert app.snapshot()["stage"] == "confirm"


def test_the_panel_is_held_until_its_time_and_released_once():
    screen = ScreenPublisher(RecordingScreen())
    screen.show(ScreenState.fault([]), hold_until=10.0)
    assert screen.held(9.9) and not screen.held(10.0)
    assert screen.release() and not screen.release()


def test_a_screen_fault_never_stops_the_gate():
    ScreenPublisher(RecordingScreen(fail=True)).show(ScreenState.idle([]))
    ScreenPublisher(None).show(ScreenState.idle([]))
