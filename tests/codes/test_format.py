"""The JKM1 container: base45, zlib limits, COSE structure, claim types."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.codes import format as fmt

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
    except fmt.FormatError as exc:
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
    with pytest.raises(fmt.FormatError, match="triplet above 65535"):
        fmt.b45decode(text)


@pytest.mark.parametrize("text", ["GGW", "A", "ABCD", "ab", "AB\n", "ÄB"])
def test_bad_base45_is_malformed(text):
    with pytest.raises(fmt.FormatError) as exc:
        fmt.b45decode(text)
    assert exc.value.reason == "malformed"


def test_inflate_stops_at_8192_bytes():
    assert len(fmt.inflate(zlib.compress(b"\0" * 8192))) == 8192
    with pytest.raises(fmt.FormatError) as exc:
        fmt.inflate(zlib.compress(b"\0" * 8193))
    assert exc.value.reason == "too_large"


def test_a_zlib_bomb_is_refused_without_inflating_it():
    bomb = zlib.compress(b"\0" * 50_000_000, 9)
    with pytest.raises(fmt.FormatError) as exc:
        fmt.inflate(bomb)
    assert exc.value.reason == "too_large"


def test_truncated_zlib_is_malformed():
    with pytest.raises(fmt.FormatError) as exc:
        fmt.inflate(zlib.compress(b"x" * 100)[:-5])
    assert exc.value.reason == "malformed"


def test_uncompressed_cose_is_taken_as_is():
    assert fmt.inflate(b"\x84abc") == b"\x84abc"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "not_a_health_code"), ("jkm1:ABC", "not_a_health_code"), ("HC1:ABC", "not_a_health_code"),
     ("JKM1:", "malformed"), ("JKM1:" + "0" * 4092, "too_large"), (b"\xff\xfe", "not_a_health_code")],
)
def test_prefix_and_size_come_first(text, reason):
    with pytest.raises(fmt.FormatError) as exc:
        fmt.parse_text(text)
    assert exc.value.reason == reason


def _cose(claims, protected=None, tag=True):
    protected_bytes = cbor2.dumps(protected if protected is not None else {1: -8, 4: b"12345678"})
    msg = [protected_bytes, {}, cbor2.dumps(claims), b"s" * 64]
    return cbor2.dumps(cbor2.CBORTag(18, msg) if tag else msg)


GOOD = {1: "CN-JX", 2: b"\1" * 16, 4: 2000, 6: 1000, 7: b"\2" * 8, -70001: {1: 0}}


@pytest.mark.parametrize(
    "change",
    [{1: 5}, {2: b"short"}, {4: "2000"}, {6: -1}, {-70001: {1: 3}}, {-70001: {}}, {-70001: {1: True}},
     {-70001: {1: 0, 3: "yes"}}, {-70001: {1: 0, 4: 360102}}, {7: b"\0"}, {4: 1.5}],
)
def test_claims_of_the_wrong_type_are_malformed(change):
    with pytest.raises(fmt.FormatError) as exc:
        fmt.parse_cose(_cose({**GOOD, **change}))
    assert exc.value.reason == "malformed"


@pytest.mark.parametrize("missing", [1, 2, 4, 6, -70001])
def test_missing_claims_are_malformed(missing):
    claims = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(fmt.FormatError):
        fmt.parse_cose(_cose(claims))


def test_unknown_claims_are_ignored_and_cti_is_optional():
    parsed = fmt.parse_cose(_cose({**{k: v for k, v in GOOD.items() if k != 7}, 99: "x", -70001: {1: 1, 42: [1]}}))
    assert parsed.claims.status == 1 and parsed.claims.cti is None


def test_untagged_cose_is_read():
    assert fmt.parse_cose(_cose(GOOD, tag=False)).kid == b"12345678"


@pytest.mark.parametrize(
    "message",
    [cbor2.dumps(cbor2.CBORTag(98, [])), cbor2.dumps([b"", {}, b""]), cbor2.dumps("text"),
     cbor2.dumps([{}, {}, b"", b""]), b"\x9f" * 50, cbor2.dumps(cbor2.CBORTag(35, "a+")), b"\xff"],
)
def test_broken_cose_structures_are_malformed(message):
    with pytest.raises(fmt.FormatError) as exc:
        fmt.parse_cose(message)
    assert exc.value.reason == "malformed"


def test_semantic_tags_inside_claims_are_refused():
    claims = {**GOOD, 4: cbor2.CBORTag(1, 2000)}
    with pytest.raises(fmt.FormatError):
        fmt.parse_cose(_cose(claims))


def test_kid_in_the_unprotected_header_is_not_used():
    protected = cbor2.dumps({1: -8})
    msg = cbor2.dumps([protected, {4: b"12345678"}, cbor2.dumps(GOOD), b"s" * 64])
    assert fmt.parse_cose(msg).kid is None


def test_crit_is_flagged():
    assert fmt.parse_cose(_cose(GOOD, protected={1: -8, 2: [99], 4: b"12345678"})).crit
