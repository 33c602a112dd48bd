"""Reading and replacing small files: regular files only, bounded, one-line errors, fresh temporary names."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gate.fileio import FileReadError, read_regular, read_text, replace_atomically


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"hello")
    assert read_regular(tmp_path / "a") == b"hello"


def test_a_symlink_is_followed_for_reading(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"hello")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert read_regular(tmp_path / "link") == b"hello"


def test_a_fifo_is_refused_at_once_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "trustlist.json"
    os.mkfifo(fifo)
    with pytest.raises(FileReadError, match="is a FIFO") as err:
        read_regular(fifo)
    assert str(fifo) in str(err.value) and "\n" not in str(err.value)


def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileReadError, match="/dev/zero: is a device"):
        read_regular(Path("/dev/zero"))
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(FileReadError, match="is a device"):
        read_regular(tmp_path / "zero")


def test_a_folder_and_a_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(FileReadError, match="is a folder"):
        read_regular(tmp_path)
    with pytest.raises(FileReadError, match=r"absent: cannot be read \(No such file"):
        read_regular(tmp_path / "absent")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(FileReadError, match="101 bytes, more than the 100 allowed"):
        read_regular(tmp_path / "big", limit=100)
    assert read_regular(tmp_path / "big", limit=101) == b"x" * 101


def test_text_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "sig").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FileReadError, match="sig: is not UTF-8 text"):
        read_text(tmp_path / "sig")


def test_replace_writes_the_new_content_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o600)
    replace_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # no temporary left behind


def test_a_planted_link_under_the_old_fixed_temporary_name_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    (tmp_path / "trustlist.json.sig.tmp").symlink_to(victim)
    replace_atomically(tmp_path / "trustlist.json.sig", b"signature")
    assert victim.read_bytes() == b"untouched"
    assert not (tmp_path / "trustlist.json.sig").is_symlink()
    assert (tmp_path / "trustlist.json.sig").read_bytes() == b"signature"


def test_a_link_at_the_target_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    (tmp_path / "statuslist.json").symlink_to(victim)
    replace_atomically(tmp_path / "statuslist.json", b"list")
    assert victim.read_bytes() == b"untouched"
    assert (tmp_path / "statuslist.json").read_bytes() == b"list"
    assert not (tmp_path / "statuslist.json").is_symlink()


def test_follow_link_replaces_the_file_a_link_points_to(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_bytes(b"old")
    (tmp_path / "gate.toml").symlink_to(real)
    replace_atomically(tmp_path / "gate.toml", b"new", follow_link=True)
    assert real.read_bytes() == b"new" and (tmp_path / "gate.toml").is_symlink()
