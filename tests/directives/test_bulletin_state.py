"""The bulletin state file (gate.directives.bulletin_state): the floor and the signed bytes kept,
replaced whole, and anything else refused in one line."""

from __future__ import annotations

import os

import pytest

from gate.directives.bulletin import BulletinError
from gate.directives.bulletin_state import BULLETIN_STATE_FILE, KeptBulletins, read_state, state_file, write_state


def test_no_file_yet_is_an_empty_state(tmp_path):
    assert read_state(tmp_path / BULLETIN_STATE_FILE) == KeptBulletins(0, None, None)


def test_what_is_written_is_read_back_byte_for_byte(tmp_path):
    path = state_file(tmp_path / "state")
    kept = KeptBulletins(7, (b'{"version": 7}\xff', "c2ln"), (b'{"version": 6}', "b2xk"))
    write_state(path, kept)
    assert read_state(path) == kept
    assert not [n for n in os.listdir(path.parent) if n != BULLETIN_STATE_FILE]  # no temporary left


@pytest.mark.parametrize("content, words", [
    ("{not json", "not JSON"), ('{"format": 9, "floor": 1}', "format 1"),
    ('{"format": 1, "floor": -1}', "'floor'"), ('{"format": 1, "floor": true}', "'floor'"),
    ('{"format": 1, "floor": 2, "newest": {"body": "%%%", "sig": "x"}}', "base64"),
    ('{"format": 1, "floor": 2, "newest": "abc"}', "'newest'"),
])
def test_a_damaged_state_is_one_line(tmp_path, content, words):
    path = tmp_path / BULLETIN_STATE_FILE
    path.write_text(content)
    with pytest.raises(BulletinError, match="damaged") as caught:
        read_state(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_fifo_in_place_of_the_state_is_refused_not_waited_on(tmp_path):
    path = tmp_path / BULLETIN_STATE_FILE
    os.mkfifo(path)
    with pytest.raises(BulletinError, match="regular file"):
        read_state(path)


def test_a_state_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(BulletinError, match="could not be kept"):
        write_state(state_file(blocker), KeptBulletins(1))
