"""The faults board: the kiosk's own faults with their details, the decision path's, and a
change told to the screen once."""

from __future__ import annotations

import pytest

from gate.kiosk.fault_board import FaultBoard


def test_own_and_path_faults_are_in_force_together_sorted():
    board = FaultBoard(lambda: ["trust_list_stale"])
    board.set("camera_lost", "camera lost: unplugged")
    assert board.current() == ["camera_lost", "trust_list_stale"]
    board.clear("camera_lost")
    board.clear("camera_lost")  # clearing a fault not in force does nothing
    assert board.current() == ["trust_list_stale"]


def test_a_change_is_told_once():
    board = FaultBoard(lambda: [])
    assert board.changed() == []
    assert board.changed() is None
    board.set("thermometer_failing", "thermometer: no reading")
    assert board.changed() == ["thermometer_failing"]
    assert board.changed() is None


def test_the_status_text_uses_the_details_or_the_faults_own_line():
    board = FaultBoard(lambda: ["store_unavailable"])
    board.set("camera_lost", "camera lost: unplugged")
    board.changed()
    text = board.status_text()
    assert text.startswith("camera lost: unplugged; ") and len(text.split("; ")) == 2


def test_a_code_outside_the_fault_vocabulary_is_refused():
    with pytest.raises(KeyError, match="add it to gate.faults"):
        FaultBoard(lambda: []).set("camera_sad", "?")


def test_a_failing_path_report_never_takes_the_board_down():
    def broken() -> list[str]:
        raise RuntimeError("trust store gone")

    board = FaultBoard(broken)
    board.set("camera_lost", "x")
    assert board.current() == ["camera_lost"]
