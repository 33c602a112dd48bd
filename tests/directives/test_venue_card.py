"""Venue cards: read only when signed by a directive key, in time, for this gate."""

import pytest

from gate.codes import keys as keylib
from gate.directives.venue_card import PREFIX, CardRefused, is_card_text, make_card, read_card
from tests.pki import NOW


def card(key, **kwargs):
    args = {"venue_id": "360102-012-north", "venue_type": "residential", "community_codes": ("360102-012",),
            "issued_at": NOW - 60, "days": 7}
    args.update(kwargs)
    return make_card(key, **args)


def test_a_valid_card_reads_back(trust_list, directive_key):
    got = read_card(card(directive_key), trust_list, "gate-a", NOW)
    assert got.settings() == {"venue.id": "360102-012-north", "venue.type": "residential",
                              "venue.community_codes": ["360102-012"]}
    assert len(got.card_id) == 8


def test_routed_by_prefix_not_as_a_health_code(directive_key, dpki):
    assert is_card_text(card(directive_key)) and card(directive_key).startswith(PREFIX)
    assert not is_card_text(dpki.code())


@pytest.mark.parametrize("kwargs, now, device, reason", [
    ({}, NOW + 8 * 86400, "gate-a", "card_expired"),
    ({"issued_at": NOW + 3600}, NOW, "gate-a", "card_not_yet_valid"),
    ({"device_ids": ("gate-b",)}, NOW, "gate-a", "card_foreign"),
    ({"days": 31}, NOW, "gate-a", "card_malformed"),
    ({"venue_type": "castle"}, NOW, "gate-a", "card_malformed"),
    ({"venue_id": "bad id\n"}, NOW, "gate-a", "card_malformed"),
])
def test_refused_cards(trust_list, directive_key, kwargs, now, device, reason):
    with pytest.raises(CardRefused) as err:
        read_card(card(directive_key, **kwargs), trust_list, device, now)
    assert err.value.reason == reason


def test_a_card_for_this_gate_by_name(trust_list, directive_key):
    assert read_card(card(directive_key, device_ids=("gate-a", "gate-b")), trust_list, "gate-a", NOW)


def test_signed_by_an_issuer_key_is_not_a_card(trust_list, dpki):
    with pytest.raises(CardRefused, match="issuer key") as err:
        read_card(card(dpki.jx.private_key), trust_list, "gate-a", NOW)
    assert err.value.reason == "card_not_directive"


def test_signed_by_an_unknown_key(trust_list):
    with pytest.raises(CardRefused) as err:
        read_card(card(keylib.generate("EdDSA")), trust_list, "gate-a", NOW)
    assert err.value.reason == "card_not_directive"


@pytest.mark.parametrize("text", [PREFIX, PREFIX + "!!!", PREFIX + "A" * 5000, PREFIX + "6BFOXN*TS0BI$ZD"])
def test_garbage_is_refused_in_one_line(trust_list, text):
    with pytest.raises(CardRefused) as err:
        read_card(text, trust_list, "gate-a", NOW)
    assert err.value.reason == "card_malformed" and "\n" not in str(err.value)


def test_a_forged_signature(trust_list, directive_key):
    text = card(directive_key)
    other = card(directive_key, venue_id="other")
    # the body of one card with the tail (signature) of another is not a card
    with pytest.raises(CardRefused):
        read_card(text[: len(text) // 2] + other[len(other) // 2:], trust_list, "gate-a", NOW)
