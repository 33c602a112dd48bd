"""The collector's directive key: loaded from its file, checked against the trust list it serves,
and every reason it cannot sign said in one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.cli.collector_cmd import default_directive_key
from gate.codes import keys as keylib
from gate.collector.directive_key import NoDirectiveKey, directive_key_state
from gate.collector.lists import ListsDirectory
from gate.directives.keys import directive_entry

TRUST = {"version": 8, "issued_at": 1764000000, "expires_at": 1766592000, "keys": [], "revoked_kids": []}


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    keylib.write_private_key(tmp_path / "directive.key", key)
    return tmp_path / "directive.key", key


def serve_trust(lists_dir: Path, sign_list, key: Ed25519PrivateKey, not_before: int, not_after: int) -> None:
    sign_list(lists_dir / "trustlist.json",
              dict(TRUST, directive_keys=[directive_entry(key.public_key(), not_before, not_after)]))


def test_no_key_configured_is_said_and_signs_nothing(lists_dir):
    state = directive_key_state(None, ListsDirectory(lists_dir), time.time())
    assert not state.usable and "no directive key is configured" in state.problem
    with pytest.raises(NoDirectiveKey, match="no directive key is configured"):
        state.signing_key()


def test_a_missing_file_says_how_to_make_one(lists_dir, tmp_path):
    state = directive_key_state(tmp_path / "none.key", ListsDirectory(lists_dir), time.time())
    assert "gate keys new directive --out" in state.problem and not state.usable


def test_a_file_that_is_no_key_or_no_ed25519_key_is_refused_in_one_line(lists_dir, tmp_path):
    (tmp_path / "junk.key").write_text("hello")
    junk = directive_key_state(tmp_path / "junk.key", ListsDirectory(lists_dir), time.time())
    assert junk.problem.startswith("the directive key cannot be used") and "\n" not in junk.problem
    keylib.write_private_key(tmp_path / "ec.key", ec.generate_private_key(ec.SECP256R1()))
    p256 = directive_key_state(tmp_path / "ec.key", ListsDirectory(lists_dir), time.time())
    assert "not an Ed25519 key" in p256.problem and not p256.usable


def test_a_key_the_served_trust_list_does_not_delegate_cannot_sign(lists_dir, key_file):
    state = directive_key_state(key_file[0], ListsDirectory(lists_dir), time.time())
    assert state.private_key is not None and state.kid and state.public_key_b64
    assert "does not delegate" in state.trust_problem and not state.usable
    with pytest.raises(NoDirectiveKey, match="does not delegate"):
        state.signing_key()


def test_a_delegated_key_in_force_signs(lists_dir, key_file, sign_list):
    now = int(time.time())
    serve_trust(lists_dir, sign_list, key_file[1], now - 10, now + 86400)
    state = directive_key_state(key_file[0], ListsDirectory(lists_dir), now)
    assert state.usable and state.delegation is not None
    assert state.public_key_b64 == directive_entry(key_file[1].public_key(), 0, 1)["public_key"]
    assert state.signing_key() is not None


def test_a_delegation_outside_its_validity_cannot_sign(lists_dir, key_file, sign_list):
    now = int(time.time())
    serve_trust(lists_dir, sign_list, key_file[1], now - 86400 * 10, now - 86400)
    state = directive_key_state(key_file[0], ListsDirectory(lists_dir), now)
    assert "outside its validity" in state.trust_problem and not state.usable


def test_no_trust_list_served_cannot_sign(tmp_path, key_file):
    (tmp_path / "empty").mkdir()
    state = directive_key_state(key_file[0], ListsDirectory(tmp_path / "empty"), time.time())
    assert state.trust_problem == "the collector serves no trust list"


def test_the_default_key_lies_beside_the_lists_folder_never_inside(tmp_path):
    assert default_directive_key(tmp_path / "lists") == tmp_path / "directive.key"
    assert default_directive_key(Path("lists")) == Path.cwd() / "directive.key"
