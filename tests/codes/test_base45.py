"""Base45 (RFC 9285): strict decoding, agreeing with the reference library."""

from __future__ import annotations

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.codes import base45 as fmt
from gate.codes.result import FormatError

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@given(st.binary(max_size=600))
def test_base45_round_trips_and_agrees_with_the_reference_library(data):
    text = fmt.b45encode(data)
    assert text == base45.b45encode(data).decode()
    assert fmt.b45decode(text) == data


@given(st.text(alphabet=B45 + "abc\n€", max_size=60))
def test_base45_decoding_accepts_exactly_what_the_rfc_accepts(text):
    try:
        expected = base45.b45decode(text) if not text.endswith("\n") else None
    except ValueError:
        expected = None
    try:
        got = fmt.b45decode(text)
    except FormatError as exc:
        assert exc.reason == "malformed"
        got = None
    assert got == expected


@pytest.mark.parametrize("text, value", [
    ("FGW", b"\xff\xff"),            # 15 + 45*16 + 2025*32 = 65535, the largest triplet
    ("00W", (2025 * 32).to_bytes(2, "big")),
    ("00V" * 40 + "FGW", (2025 * 31).to_bytes(2, "big") * 40 + b"\xff\xff"),
])
def test_base45_triplets_up_to_65535_decode(text, value):
    assert fmt.b45decode(text) == value


@pytest.mark.parametrize("text", ["GGW", "00X", "00:", "FGW" * 30 + "GGW" + "FGW", "00V" * 50 + "00X"])
def test_a_base45_triplet_above_65535_anywhere_is_malformed(text):
    with pytest.raises(FormatError, match="triplet above 65535"):
        fmt.b45decode(text)


@pytest.mark.parametrize("text", ["GGW", "A", "ABCD", "ab", "AB\n", "ÄB"])
def test_bad_base45_is_malformed(text):
    with pytest.raises(FormatError) as exc:
        fmt.b45decode(text)
    assert exc.value.reason == "malformed"
