"""COSE as read from untrusted bytes: the inflation limits."""

from __future__ import annotations

import zlib

import pytest

from gate.codes import cose as fmt
from gate.codes.result import FormatError


def test_inflate_stops_at_8192_bytes():
    assert len(fmt.inflate(zlib.compress(b"\0" * 8192))) == 8192
    with pytest.raises(FormatError) as exc:
        fmt.inflate(zlib.compress(b"\0" * 8193))
    assert exc.value.reason == "too_large"


def test_a_zlib_bomb_is_refused_without_inflating_it():
    bomb = zlib.compress(b"\0" * 50_000_000, 9)
    with pytest.raises(FormatError) as exc:
        fmt.inflate(bomb)
    assert exc.value.reason == "too_large"


def test_truncated_zlib_is_malformed():
    with pytest.raises(FormatError) as exc:
        fmt.inflate(zlib.compress(b"x" * 100)[:-5])
    assert exc.value.reason == "malformed"


def test_uncompressed_cose_is_taken_as_is():
    assert fmt.inflate(b"\x84abc") == b"\x84abc"
