"""The JKM1 container: prefix and size limits, COSE structure, claim types."""

from __future__ import annotations

import cbor2
import pytest

from gate.codes import jkm1 as fmt
from gate.codes.result import FormatError


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "not_a_health_code"), ("jkm1:ABC", "not_a_health_code"), ("HC1:ABC", "not_a_health_code"),
     ("JKM1:", "malformed"), ("JKM1:" + "0" * 4092, "too_large"), (b"\xff\xfe", "not_a_health_code")],
)
def test_prefix_and_size_come_first(text, reason):
    with pytest.raises(FormatError) as exc:
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
    with pytest.raises(FormatError) as exc:
        fmt.parse_cose(_cose({**GOOD, **change}))
    assert exc.value.reason == "malformed"


@pytest.mark.parametrize("missing", [1, 2, 4, 6, -70001])
def test_missing_claims_are_malformed(missing):
    claims = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(FormatError):
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
    with pytest.raises(FormatError) as exc:
        fmt.parse_cose(message)
    assert exc.value.reason == "malformed"


def test_semantic_tags_inside_claims_are_refused():
    claims = {**GOOD, 4: cbor2.CBORTag(1, 2000)}
    with pytest.raises(FormatError):
        fmt.parse_cose(_cose(claims))


def test_kid_in_the_unprotected_header_is_not_used():
    protected = cbor2.dumps({1: -8})
    msg = cbor2.dumps([protected, {4: b"12345678"}, cbor2.dumps(GOOD), b"s" * 64])
    assert fmt.parse_cose(msg).kid is None


def test_crit_is_flagged():
    assert fmt.parse_cose(_cose(GOOD, protected={1: -8, 2: [99], 4: b"12345678"})).crit
