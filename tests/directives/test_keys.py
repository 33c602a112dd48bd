"""Directive keys come from the trust list, apart from issuer keys."""

import pytest

from gate.codes import keys as keylib
from gate.directives.keys import directive_entry, parse_directive_keys, verify_detached
from tests.pki import NOW


def test_trust_list_carries_its_directive_keys(trust_list, directive_key):
    kid = keylib.kid_of(keylib.spki_der(directive_key.public_key()))
    assert set(trust_list.directive_keys) == {kid}
    assert kid not in trust_list.keys  # never an issuer key


def test_a_trust_list_without_directive_keys_has_none(pki):
    pki.write_trust_list(1)
    from gate.codes.trust import parse_trust_list
    assert parse_trust_list(pki.trust_list(1)).directive_keys == {}


def test_entry_whose_kid_does_not_match_its_key_is_left_out(directive_key):
    entry = directive_entry(directive_key.public_key(), 0, NOW)
    entry["kid"] = "AAAAAAAAAAA"
    keys, ignored = parse_directive_keys([entry])
    assert keys == {} and "kid does not match" in ignored[0]


def test_directive_keys_must_be_an_array():
    with pytest.raises(ValueError, match="array"):
        parse_directive_keys({"kid": "x"})


def test_signature_counts_only_inside_the_keys_validity(directive_key):
    keys, _ = parse_directive_keys([directive_entry(directive_key.public_key(), NOW - 10, NOW + 10)])
    signature = keylib.sign(directive_key, b"data")
    assert verify_detached(keys.values(), signature, b"data", NOW) is not None
    assert verify_detached(keys.values(), signature, b"data", NOW + 11) is None
    assert verify_detached(keys.values(), signature, b"other", NOW) is None
