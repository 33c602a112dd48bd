"""The gate's id alphabet (gate/ids.py): one rule for device and venue ids everywhere."""

from __future__ import annotations

import pytest

from gate.ids import id_problem, is_id, shown


@pytest.mark.parametrize("value", ["gate-nc-0001", "a", "A.b_c-9", "x" * 64, "...", ".a", "a.."])
def test_ids_in_the_alphabet_are_accepted(value):
    assert is_id(value) and id_problem(value) is None


@pytest.mark.parametrize("value", ["", ".", "..", "x" * 65, "a/b", "a b", "a\nb", "\x1b[31m",
                                   "闸机", "a\\b", "\ud800", None, 7, b"gate"])
def test_everything_else_is_refused_with_one_line(value):
    assert not is_id(value)
    problem = id_problem(value, "venue id")
    assert problem is not None and problem.startswith("venue id ")
    assert "\n" not in problem and "\x1b" not in problem and problem.isascii()


def test_shown_escapes_what_a_terminal_would_obey_and_keeps_it_short():
    assert shown("\x1b[2Jx\x07") == '"\\x1b[2Jx\\x07"'
    assert shown("闸\u202e") == '"\\u95f8\\u202e"'
    assert shown("\ud800") == '"\\ud800"'
    assert len(shown("y" * 500)) < 100


def test_the_gates_configuration_uses_the_same_rule():
    from gate import config

    assert config.is_id is is_id
