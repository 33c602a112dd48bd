"""A process's bulletins follow the files sync writes and the trust list in force, and nothing else."""

from __future__ import annotations

import pytest

from gate.codes.trust import parse_trust_list
from gate.directives.book import BULLETIN_FILE
from gate.directives.bulletin import BulletinError
from gate.directives.watch import BulletinWatch
from tests.directives.conftest import bulletin_bytes, sign
from tests.pki import NOW


def publish(dpki, key, trust_list, version: int) -> bytes:
    data = bulletin_bytes(version=version)
    BulletinWatch(dpki.trust_dir, writable=True).accept(data, sign(key, data), trust_list, NOW)  # as sync does
    return data


def test_nothing_changed_nothing_is_read_again(dpki, directive_key, trust_list):
    publish(dpki, directive_key, trust_list, 1)
    watch = BulletinWatch(dpki.trust_dir)
    book = watch.refresh(trust_list, NOW)
    assert book.version == 1
    assert watch.refresh(trust_list, NOW) is book


def test_a_bulletin_written_by_another_process_is_seen(dpki, directive_key, trust_list):
    watch = BulletinWatch(dpki.trust_dir)
    assert watch.refresh(trust_list, NOW).version == 0
    publish(dpki, directive_key, trust_list, 1)
    assert watch.refresh(trust_list, NOW).version == 1
    publish(dpki, directive_key, trust_list, 2)
    assert watch.refresh(trust_list, NOW).in_force(NOW).version == 2


def test_a_pair_caught_between_its_two_writes_keeps_the_bulletin_in_force(dpki, directive_key, trust_list):
    publish(dpki, directive_key, trust_list, 1)
    watch = BulletinWatch(dpki.trust_dir)
    assert watch.refresh(trust_list, NOW).version == 1
    newer = bulletin_bytes(version=2)
    (dpki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(directive_key, newer))  # the body comes next
    assert watch.refresh(trust_list, NOW).in_force(NOW).version == 1
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(newer)
    assert watch.refresh(trust_list, NOW).in_force(NOW).version == 2


def test_a_new_trust_list_without_the_directive_key_ends_the_bulletin(dpki, directive_key, trust_list):
    publish(dpki, directive_key, trust_list, 1)
    watch = BulletinWatch(dpki.trust_dir)
    assert watch.refresh(trust_list, NOW).in_force(NOW) is not None
    dpki.directive_entries.clear()
    withdrawn = parse_trust_list(dpki.trust_list(2))
    book = watch.refresh(withdrawn, NOW)
    assert book.in_force(NOW) is None and "directive key" in book.problems[0]


def test_sync_accepts_through_the_watch_and_a_rollback_changes_nothing(dpki, directive_key, trust_list):
    watch = BulletinWatch(dpki.trust_dir, writable=True)
    data = bulletin_bytes(version=3)
    assert watch.accept(data, sign(directive_key, data), trust_list, NOW) is True
    old = bulletin_bytes(version=2)
    with pytest.raises(BulletinError, match="rollback"):
        watch.accept(old, sign(directive_key, old), trust_list, NOW)
    assert (dpki.trust_dir / BULLETIN_FILE).read_bytes() == data


def test_a_bulletin_stops_being_in_force_when_its_directive_keys_validity_ends(dpki, directive_key, trust_list):
    publish(dpki, directive_key, trust_list, 1)
    watch = BulletinWatch(dpki.trust_dir)
    assert watch.refresh(trust_list, NOW).in_force(NOW).version == 1
    after = NOW + 10**6 + 1  # the test key's not_after has passed
    assert watch.refresh(trust_list, after).in_force(after) is None


def test_a_running_kiosk_follows_the_state_sync_keeps_and_ignores_an_older_file_put_back(
        dpki, directive_key, trust_list, tmp_path):
    state = tmp_path / "state"
    sync = BulletinWatch(dpki.trust_dir, state_dir=state, writable=True)
    kiosk = BulletinWatch(dpki.trust_dir, state_dir=state)
    three = bulletin_bytes(version=3)
    sync.accept(three, sign(directive_key, three), trust_list, NOW)
    assert kiosk.refresh(trust_list, NOW).in_force(NOW).version == 3
    five = bulletin_bytes(version=5)
    sync.accept(five, sign(directive_key, five), trust_list, NOW)
    assert kiosk.refresh(trust_list, NOW).in_force(NOW).version == 5
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(three)
    (dpki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(directive_key, three))
    assert kiosk.refresh(trust_list, NOW).in_force(NOW).version == 5
    assert sync.refresh(trust_list, NOW).version == 5
    fresh = BulletinWatch(dpki.trust_dir, state_dir=state).refresh(trust_list, NOW)  # a new process
    assert fresh.in_force(NOW).version == 5 and "rollback refused" in fresh.problems[0]
