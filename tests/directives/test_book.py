"""The gate's bulletins: held until effective, only ever newer, kept in the state folder across
restarts; the trust folder only offers files, and one older than the floor is refused."""

import base64
import json
import os

import pytest

from gate.config import loads_config
from gate.directives.book import BULLETIN_FILE, BulletinBook
from gate.directives.bulletin import BulletinError
from gate.directives.bulletin_state import BULLETIN_STATE_FILE
from tests.directives.conftest import bulletin_bytes, sign
from tests.journeys.userkit import user  # noqa: F401  (a fixture, found by name)
from tests.pki import NOW


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


@pytest.fixture
def book(dpki, state_dir):
    return BulletinBook(dpki.trust_dir, state_dir=state_dir)


def restarted(dpki, state_dir, trust_list, now=NOW, writable=True):
    """The book a new process reads: from the state folder, and what the trust folder offers."""
    again = BulletinBook(dpki.trust_dir, state_dir=state_dir, writable=writable)
    again.load(trust_list, now)
    return again


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


def test_kept_across_a_restart(book, directive_key, trust_list, dpki, state_dir, cfg):
    accept(book, directive_key, trust_list, version=1, effective_at=NOW - 10)
    accept(book, directive_key, trust_list, version=2, effective_at=NOW + 50)
    again = restarted(dpki, state_dir, trust_list)
    assert (again.version, again.effective_config(cfg, NOW)[1]) == (2, 1)
    assert again.summary(NOW)["held"]["version"] == 2 and again.problems == []


def test_a_tampered_kept_bulletin_is_not_in_force_after_restart(book, directive_key, trust_list, dpki,
                                                                state_dir, cfg):
    accept(book, directive_key, trust_list, version=1)
    path = state_dir / BULLETIN_STATE_FILE
    doc = json.loads(path.read_text())
    body = base64.b64decode(doc["newest"]["body"]).replace(b'"note": "test"', b'"note": "TEST"')
    doc["newest"]["body"] = base64.b64encode(body).decode()
    path.write_text(json.dumps(doc))
    (dpki.trust_dir / BULLETIN_FILE).unlink()
    again = restarted(dpki, state_dir, trust_list)
    assert again.effective_config(cfg, NOW) == (cfg, 0)
    assert "does not verify" in again.problems[0] and again.version == 1  # the floor stays


def test_a_tampered_copy_in_the_trust_folder_is_refused_and_the_kept_one_stays(
        book, directive_key, trust_list, dpki, state_dir, cfg):
    accept(book, directive_key, trust_list, version=1)
    path = dpki.trust_dir / BULLETIN_FILE
    path.write_bytes(path.read_bytes().replace(b'"note": "test"', b'"note": "TEST"'))
    again = restarted(dpki, state_dir, trust_list)
    assert again.effective_config(cfg, NOW)[1] == 1
    assert "does not verify" in again.problems[0]


def test_an_older_bulletin_put_back_in_the_trust_folder_is_refused_in_the_next_process(
        book, directive_key, trust_list, dpki, state_dir, cfg):
    old = bulletin_bytes(version=3, settings=[{"scope": {}, "set": {"temperature.fever_c": 37.1}}])
    accept(book, directive_key, trust_list, version=3,
           settings=[{"scope": {}, "set": {"temperature.fever_c": 37.1}}])
    accept(book, directive_key, trust_list, version=5)
    # a restored backup (or someone with write access to the trust folder) puts version 3 back
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(old)
    (dpki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(directive_key, old))
    for writable in (False, True):  # the kiosk's book and sync's
        again = restarted(dpki, state_dir, trust_list, writable=writable)
        changed, version = again.effective_config(cfg, NOW)
        assert version == 5 and changed.temperature.fever_c == cfg.temperature.fever_c
        assert again.problems == [f"{dpki.trust_dir / BULLETIN_FILE}: version 3 is older than "
                                  "version 5 accepted (rollback refused)"]
    assert restarted(dpki, state_dir, trust_list).version == 5  # sync's book wrote nothing back


def test_a_newer_bulletin_offered_in_the_trust_folder_is_taken_and_remembered(
        book, directive_key, trust_list, dpki, state_dir, cfg):
    accept(book, directive_key, trust_list, version=1)
    newer = bulletin_bytes(version=2, settings=[{"scope": {}, "set": {"temperature.fever_c": 37.8}}])
    (dpki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(directive_key, newer))
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(newer)
    again = restarted(dpki, state_dir, trust_list)
    assert again.effective_config(cfg, NOW)[0].temperature.fever_c == 37.8 and again.problems == []
    (dpki.trust_dir / BULLETIN_FILE).unlink()  # the offer is gone: what was taken stays
    assert restarted(dpki, state_dir, trust_list).version == 2


def test_the_floor_is_never_rebuilt_from_the_trust_folder(book, directive_key, trust_list, dpki,
                                                          state_dir):
    accept(book, directive_key, trust_list, version=5)
    for name in os.listdir(dpki.trust_dir):
        if name.startswith("bulletin"):
            os.unlink(dpki.trust_dir / name)
    again = restarted(dpki, state_dir, trust_list)
    assert again.version == 5 and again.in_force(NOW).version == 5
    with pytest.raises(BulletinError, match="rollback"):
        accept(again, directive_key, trust_list, version=4)


def test_a_damaged_state_is_a_problem_and_takes_no_offer(book, directive_key, trust_list, dpki,
                                                         state_dir, cfg):
    accept(book, directive_key, trust_list, version=5)
    (state_dir / BULLETIN_STATE_FILE).write_text("{not json")
    again = restarted(dpki, state_dir, trust_list)
    assert again.effective_config(cfg, NOW) == (cfg, 0)
    assert "damaged" in again.problems[0] and "not taken" in again.problems[1]
    assert accept(again, directive_key, trust_list, version=6)  # the collector's next one is
    assert restarted(dpki, state_dir, trust_list).in_force(NOW).version == 6


def test_a_gate_without_bulletins_has_none_and_no_problem(book, trust_list, cfg):
    book.load(trust_list, NOW)
    assert book.problems == [] and book.effective_config(cfg, NOW) == (cfg, 0) and book.version == 0


def test_a_fifo_in_place_of_the_bulletin_is_a_problem_not_a_hang(book, trust_list, dpki):
    import os

    os.mkfifo(dpki.trust_dir / BULLETIN_FILE)
    book.load(trust_list, NOW)
    assert book.newest is None and "regular file" in book.problems[0]


def test_a_new_gate_process_keeps_version_5_and_refuses_3_put_back_in_one_line(
        pki, directive_key, user):
    """`gate doctor` in a fresh process and a clean shell, after sync kept 5 and someone put a
    validly signed 3 back in the trust folder."""
    import time

    import cv2
    import numpy as np

    from gate.codes.trust import parse_trust_list
    from gate.directives.keys import directive_entry
    from tests.journeys.userkit import TRACEBACK

    now = int(time.time())
    pki.directive_entries.append(directive_entry(directive_key.public_key(), now - 1000, now + 10**6))
    pki.write_trust_list(1)
    trust_list = parse_trust_list(pki.trust_list(1))
    (user.cwd / "frames").mkdir()
    cv2.imwrite(str(user.cwd / "frames" / "0001.png"), np.full((48, 64, 3), 200, np.uint8))
    config = user.cwd / "gate.toml"
    config.write_text(f'[device]\nid = "gate-a"\n[venue]\nid = "360102-n"\ntype = "residential"\n'
                      f'community_codes = ["360102-012"]\n[trust]\ndir = "{pki.trust_dir}"\n'
                      '[camera]\nsource = "frames"\n[temperature]\nsensor = "simulated"\n'
                      '[store]\npath = "var/scans.db"\n')
    state_dir = user.cwd / "var"  # the gate's state folder, beside its record store
    sync_book = BulletinBook(pki.trust_dir, state_dir=state_dir)
    three = bulletin_bytes(version=3, note="version three", effective_at=now - 60)
    accept(sync_book, directive_key, trust_list, now, version=3, note="version three",
           effective_at=now - 60)
    accept(sync_book, directive_key, trust_list, now, version=5, note="version five",
           effective_at=now - 60)
    (pki.trust_dir / BULLETIN_FILE).write_bytes(three)
    (pki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(directive_key, three))

    done = user.gate("doctor", "--config", str(config))
    assert TRACEBACK not in done.stdout + done.stderr, done.stderr
    lines = [line for line in done.stdout.splitlines() if "bulletin" in line]
    assert len(lines) == 2, done.stdout + done.stderr
    assert lines[0] == (f"WARN  bulletin.refused: {pki.trust_dir / BULLETIN_FILE}: version 3 is older "
                        "than version 5 accepted (rollback refused): not in force")
    assert "bulletin: bulletin v5 in force" in lines[1] and "version five" in lines[1]
    assert restarted(pki, state_dir, trust_list, now).in_force(now).version == 5
