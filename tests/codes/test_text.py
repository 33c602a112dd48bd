"""Text a code says, made safe to show: format, control and separator characters removed."""

from __future__ import annotations

import pytest

from gate.codes.text import shown_or_none, shown_text


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                                  "\u2069", "\u200e", "\u200f", "\u200b", "\ufeff", "\n", "\r", "\t", "\x00",
                                  "\x1b", "\x7f", "\u2028", "\u2029"])
def test_each_kind_of_hidden_character_is_removed(char):
    assert shown_text(f"LI{char}VE") == "LIVE"


def test_the_reversing_trick_no_longer_reverses():
    assert shown_text("\u202eEVIL") == "EVIL"


def test_letters_of_every_script_and_ordinary_punctuation_stay():
    for text in ("张*三", "Zoë O'Brien-Smith", "محمد", "360102-012", "名 字"):
        assert shown_text(text) == text


def test_absent_stays_absent():
    assert shown_or_none(None) is None
