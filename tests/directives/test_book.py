"""The gate's bulletins: held until effective, only ever newer, kept across restarts."""

import pytest

from gate.config import loads_config
from gate.directives.book import BULLETIN_FILE, BulletinBook
from gate.directives.bulletin import BulletinError
from tests.directives.conftest import bulletin_bytes, sign
from tests.pki import NOW


@pytest.fixture
def book(dpki):
    return BulletinBook(dpki.trust_dir)


@pytest.fixture
def cfg(tmp_path):
    return loads_config('[device]\nid = "gate-a"\n[venue]\nid = "360102-n"\ntype = "residential"\ncommunity_codes = ["360102-012"]\n',
                        tmp_path / "gate.toml")


def accept(book, key, trust_list, now=NOW, **kwargs):
    data = bulletin_bytes(**kwargs)
    return book.accept(data, sign(key, data), trust_list, now)


def test_held_until_effective_then_applied(book, directive_key, trust_list, cfg):
    assert accept(book, directive_key, trust_list, version=1, effective_at=NOW + 100)
    assert book.effective_config(cfg, NOW + 99) == (cfg, 0)
    changed, version = book.effective_config(cfg, NOW + 100)
    assert version == 1 and changed.venue.itinerary_check is False


def test_out_of_scope_gate_keeps_its_file(book, directive_key, trust_list, cfg):
    accept(book, directive_key, trust_list, settings=[
        {"scope": {"venue_types": ["metro"]}, "set": {"venue.itinerary_check": False}}])
    changed, version = book.effective_config(cfg, NOW)
    assert version == 1 and changed == cfg


def test_rollback_is_refused_and_changes_nothing(book, directive_key, trust_list, dpki):
    accept(book, directive_key, trust_list, version=5)
    before = (dpki.trust_dir / BULLETIN_FILE).read_bytes()
    with pytest.raises(BulletinError, match="rollback"):
        accept(book, directive_key, trust_list, version=4)
    assert book.version == 5 and (dpki.trust_dir / BULLETIN_FILE).read_bytes() == before
    assert accept(book, directive_key, trust_list, version=5) is False


def test_a_refused_bulletin_leaves_the_one_in_force(book, directive_key, trust_list, dpki, cfg):
    accept(book, directive_key, trust_list, version=1)
    data = bulletin_bytes(version=2, settings=[{"scope": {}, "set": {"venue.type": "metro"}}])
    with pytest.raises(BulletinError):
        book.accept(data, sign(directive_key, data), trust_list, NOW)
    with pytest.raises(BulletinError):
        data = bulletin_bytes(version=3)
        book.accept(data, sign(dpki.jx.private_key, data), trust_list, NOW)
    assert book.effective_config(cfg, NOW)[1] == 1


def test_previous_stays_in_force_while_the_newest_is_held(book, directive_key, trust_list, cfg):
    accept(book, directive_key, trust_list, version=1, effective_at=NOW - 10)
    accept(book, directive_key, trust_list, version=2, effective_at=NOW + 50,
           settings=[{"scope": {}, "set": {"temperature.fever_c": 37.8}}])
    assert book.effective_config(cfg, NOW)[1] == 1
    changed, version = book.effective_config(cfg, NOW + 50)
    assert version == 2 and changed.temperature.fever_c == 37.8 and changed.venue.itinerary_check is True


def test_kept_across_a_restart(book, directive_key, trust_list, dpki, cfg):
    accept(book, directive_key, trust_list, version=1, effective_at=NOW - 10)
    accept(book, directive_key, trust_list, version=2, effective_at=NOW + 50)
    again = BulletinBook(dpki.trust_dir)
    again.load(trust_list, NOW)
    assert (again.version, again.effective_config(cfg, NOW)[1]) == (2, 1)
    assert again.summary(NOW)["held"]["version"] == 2


def test_a_tampered_file_is_not_in_force_after_restart(book, directive_key, trust_list, dpki, cfg):
    accept(book, directive_key, trust_list, version=1)
    path = dpki.trust_dir / BULLETIN_FILE
    path.write_bytes(path.read_bytes().replace(b'"note": "test"', b'"note": "TEST"'))
    again = BulletinBook(dpki.trust_dir)
    again.load(trust_list, NOW)
    assert again.effective_config(cfg, NOW) == (cfg, 0)
    assert "does not verify" in again.problems[0]


def test_a_gate_without_bulletins_has_none_and_no_problem(book, trust_list, cfg):
    book.load(trust_list, NOW)
    assert book.problems == [] and book.effective_config(cfg, NOW) == (cfg, 0) and book.version == 0


def test_a_fifo_in_place_of_the_bulletin_is_a_problem_not_a_hang(book, trust_list, dpki):
    import os

    os.mkfifo(dpki.trust_dir / BULLETIN_FILE)
    book.load(trust_list, NOW)
    assert book.newest is None and "regular file" in book.problems[0]
