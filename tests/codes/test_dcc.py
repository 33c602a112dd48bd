"""The DCC at the gate (credentials.md, "DCC at the gate"), with certificates and keys made here."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
import zlib
import base45
import cbor2
import pytest

from gate.codes import dcc, dcc_issue
from tests.credentials.credkit import SALT, trust

NOW = 1_780_000_000


@pytest.fixture(scope="module")
def ec_dsc():
    return dcc_issue.make_dsc("DE", types="vtr")


@pytest.fixture(scope="module")
def rsa_dsc():
    return dcc_issue.make_dsc("FR", rsa_key=True)


def _hcert(family="Müller", given="Jörg"):
    return dcc_issue.vaccination(family, given, "1980-02-03", "2026-01-01")


def _issue(dsc, hcert=None, **kw):
    key, der = dsc
    kw.setdefault("iss", "DE")
    kw.setdefault("iat", NOW - 3600)
    kw.setdefault("exp", NOW + 86400)
    return dcc_issue.issue(hcert or _hcert(), key, der, **kw)


def _trust(*dscs, **kw):
    return trust([der for _, der in dscs], **kw)


@pytest.mark.parametrize("tag", ["18", "none", "61"])
@pytest.mark.parametrize("kid_where", ["protected", "unprotected", "both"])
def test_a_dcc_verifies_tagged_untagged_or_in_tag_61_with_the_kid_protected_or_not(ec_dsc, tag, kid_where):
    result = dcc.verify(_issue(ec_dsc, tag=tag, kid_where=kid_where), _trust(ec_dsc), NOW, 300)
    assert (result.valid, result.format, result.issuer, result.fields["cert_type"]) == (True, "DCC", "DCC-DE", "v")
    assert result.payload["v"][0]["dn"] == 2


def test_a_ps256_dcc_verifies_with_its_rsa_dsc(rsa_dsc):
    result = dcc.verify(_issue(rsa_dsc, iss="FR"), _trust(rsa_dsc), NOW, 300)
    assert (result.valid, result.issuer) == (True, "DCC-FR")


def test_a_wrong_protected_kid_is_not_rescued_by_a_right_unprotected_one(ec_dsc):
    assert dcc.verify(_issue(ec_dsc, kid_where="wrong-protected"), _trust(ec_dsc), NOW, 300).reason == "unknown_key"


def test_a_der_signature_is_a_bad_signature(ec_dsc):
    assert dcc.verify(_issue(ec_dsc, der_signature=True), _trust(ec_dsc), NOW, 300).reason == "bad_signature"


def test_a_dcc_signed_by_another_key_under_a_trusted_kid_is_a_bad_signature(ec_dsc):
    other_key, _ = dcc_issue.make_dsc("DE")
    text = dcc_issue.issue(_hcert(), other_key, ec_dsc[1], iss="DE", iat=NOW, exp=NOW + 10)
    assert dcc.verify(text, _trust(ec_dsc), NOW, 300).reason == "bad_signature"


def test_an_untrusted_or_revoked_dsc_refuses(ec_dsc):
    assert dcc.verify(_issue(ec_dsc), trust(), NOW, 300).reason == "unknown_key"
    revoked = _trust(ec_dsc, revoked_kids=[dcc.dsc_kid(ec_dsc[1])])
    assert dcc.verify(_issue(ec_dsc), revoked, NOW, 300).reason == "key_revoked"


def test_time_iat_within_skew_and_exp_without(ec_dsc):
    store = _trust(ec_dsc)
    assert dcc.verify(_issue(ec_dsc, iat=NOW + 200), store, NOW, 300).valid
    assert dcc.verify(_issue(ec_dsc, iat=NOW + 400), store, NOW, 300).reason == "not_yet_valid"
    assert dcc.verify(_issue(ec_dsc, exp=NOW), store, NOW, 300).valid
    assert dcc.verify(_issue(ec_dsc, exp=NOW - 1), store, NOW, 300).reason == "expired"


def test_key_usage_limits_the_types_a_dsc_may_sign():
    tests_only = dcc_issue.make_dsc("DE", types="t")
    assert dcc.verify(_issue(tests_only), _trust(tests_only), NOW, 300).reason == "key_usage"
    hcert = dcc_issue.test_result("Doe", "Jane", "1990-01-01", "2026-05-28T08:00:00Z")
    assert dcc.verify(_issue(tests_only, hcert=hcert), _trust(tests_only), NOW, 300).fields["cert_type"] == "t"
    no_usage = dcc_issue.make_dsc("DE", types=None)
    assert dcc.verify(_issue(no_usage, hcert=hcert), _trust(no_usage), NOW, 300).valid


def test_each_of_the_three_eu_revocation_hashes_revokes(ec_dsc):
    text = _issue(ec_dsc)
    uci = _hcert()["v"][0]["ci"]
    cose = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    r = cose.value[3][:32]
    for revoked in (uci.encode(), ("DE" + uci).encode(), r):
        store = _trust(ec_dsc)
        store.revoked_hashes.add(hashlib.sha256(revoked).digest()[:16])
        assert dcc.verify(text, store, NOW, 300).reason == "revoked"
    assert dcc.verify(text, _trust(ec_dsc), NOW, 300).valid


def test_the_ps256_signature_hash_covers_the_whole_signature(rsa_dsc):
    text = _issue(rsa_dsc, iss="FR")
    signature = cbor2.loads(zlib.decompress(base45.b45decode(text[4:]))).value[3]
    store = _trust(rsa_dsc)
    store.revoked_hashes.add(hashlib.sha256(signature).digest()[:16])
    assert dcc.verify(text, store, NOW, 300).reason == "revoked"


def test_the_pseudonym_is_salted_over_nfc_and_the_same_at_every_gate(ec_dsc):
    nfd = unicodedata.normalize("NFD", "MÜLLER")
    a = dcc.verify(_issue(ec_dsc), _trust(ec_dsc), NOW, 300)
    hcert = _hcert()
    hcert["nam"]["fnt"] = nfd
    b = dcc.verify(_issue(ec_dsc, hcert=hcert), _trust(ec_dsc), NOW, 300)
    want = hashlib.sha256(SALT + b"DCC\x00" + "M<LLER".encode() + b"\x00J<RG\x001980-02-03").digest()[:16].hex()
    assert a.sub == want
    nfc = _hcert()
    nfc["nam"]["fnt"] = "MÜLLER"
    assert b.sub == dcc.verify(_issue(ec_dsc, hcert=nfc), _trust(ec_dsc), NOW, 300).sub != a.sub
    assert dcc.verify(_issue(ec_dsc), _trust(ec_dsc, salt=b"\xff" * 32), NOW, 300).sub != a.sub
    assert dcc.verify(_issue(ec_dsc), _trust(ec_dsc, salt=None), NOW, 300).sub is None  # no salt, no pseudonym


@pytest.mark.parametrize("text, reason", [
    ("HC2:6BFOXN", "not_a_health_code"),
    ("HC1:", "malformed"),
    ("HC1:ab", "malformed"),          # lower case is not base45
    ("HC1:" + "A" * 9000, "too_large"),
])
def test_bad_texts_are_refused_with_a_reason(text, reason):
    assert dcc.verify(text, trust(), NOW, 300).reason == reason


def test_bare_cose_without_zlib_is_malformed_and_a_zip_bomb_too_large(ec_dsc):
    text = _issue(ec_dsc)
    cose = zlib.decompress(base45.b45decode(text[4:]))
    assert dcc.verify("HC1:" + base45.b45encode(cose).decode(), _trust(ec_dsc), NOW, 300).reason == "malformed"
    bomb = zlib.compress(b"\x00" * 100_000, 9)
    assert dcc.verify("HC1:" + base45.b45encode(bomb).decode(), _trust(ec_dsc), NOW, 300).reason == "too_large"


def test_a_dsc_entry_whose_kid_is_not_its_certificates_is_ignored(ec_dsc):
    entry = dcc.dsc_entry(dcc.dsc_from_der(ec_dsc[1]))
    ring = dcc.read_dscs([entry, {**entry, "kid": base64.b64encode(bytes(8)).decode()},
                          {**entry, "certificate": "not base64!"}, "nonsense"])
    assert list(ring.keys) == [dcc.dsc_kid(ec_dsc[1])]
    assert len(ring.ignored) == 3 and "kid" in ring.ignored[0]


def test_well_formed_is_a_cheap_syntax_check(ec_dsc):
    assert dcc.well_formed(_issue(ec_dsc))
    assert not dcc.well_formed("HC1:")
    assert not dcc.well_formed("HC1:abc")
