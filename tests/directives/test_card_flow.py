"""The kiosk's venue-card conversation: only a confirmed, valid, new card changes anything."""

import pytest

from gate.directives.card_flow import CONFIRM_S, UsedCards, VenueCardFlow
from gate.directives.venue_card import make_card
from tests.pki import NOW


@pytest.fixture
def written():
    return []


@pytest.fixture
def flow(tmp_path, trust_list, written):
    return VenueCardFlow(device_id=lambda: "gate-a", trust_list=lambda: trust_list, write=written.append,
                         used=UsedCards(tmp_path / "cards.json"))


@pytest.fixture
def text(directive_key):
    return make_card(directive_key, "360102-012-north", "residential", community_codes=("360102-012",),
                     issued_at=NOW - 60)


def test_shown_then_confirmed_writes_the_venue(flow, text, written):
    state = flow.shown(text, NOW)
    assert state["stage"] == "confirm" and state["venue"]["type"] == "residential" and not written
    assert flow.confirm(NOW + 5)["stage"] == "applied"
    assert written == [{"venue.id": "360102-012-north", "venue.type": "residential",
                        "venue.community_codes": ["360102-012"]}]


def test_unconfirmed_card_changes_nothing(flow, text, written):
    flow.shown(text, NOW)
    assert flow.expire(NOW + CONFIRM_S + 0.1)["reason"] == "card_unconfirmed"
    assert flow.confirm(NOW + CONFIRM_S + 0.2) is None and not written


def test_button_after_the_deadline_is_not_a_confirmation(flow, text, written):
    flow.shown(text, NOW)
    assert flow.confirm(NOW + CONFIRM_S + 1) is None and not written


def test_button_with_nothing_pending_is_left_to_the_kiosk(flow):
    assert flow.confirm(NOW) is None


def test_the_same_card_twice_changes_nothing_the_second_time(flow, text, written, tmp_path, trust_list):
    flow.shown(text, NOW)
    flow.confirm(NOW + 1)
    assert flow.shown(text, NOW + 2)["reason"] == "card_repeated"
    again = VenueCardFlow(device_id=lambda: "gate-a", trust_list=lambda: trust_list, write=written.append,
                          used=UsedCards(tmp_path / "cards.json"))
    assert again.shown(text, NOW + 3)["reason"] == "card_repeated"
    assert len(written) == 1


def test_invalid_card_is_one_line_and_nothing_pending(flow, directive_key, written):
    foreign = make_card(directive_key, "x", "metro", device_ids=("gate-z",), issued_at=NOW - 60)
    state = flow.shown(foreign, NOW)
    assert state["stage"] == "refused" and state["reason"] == "card_foreign" and "\n" not in state["en"]
    assert not flow.pending and flow.confirm(NOW) is None and not written


def test_a_write_that_fails_changes_nothing_and_says_why(tmp_path, trust_list, text):
    def refuse(values):
        raise ValueError("gate.toml: [venue] community_codes: required for residential\nsecond line")
    flow = VenueCardFlow(device_id=lambda: "gate-a", trust_list=lambda: trust_list, write=refuse,
                         used=UsedCards(tmp_path / "cards.json"))
    flow.shown(text, NOW)
    state = flow.confirm(NOW + 1)
    assert state["reason"] == "card_not_applied" and "second line" not in state["en"]
    assert flow.shown(text, NOW + 2)["stage"] == "confirm"  # not remembered as applied
