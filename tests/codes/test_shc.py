"""The SMART Health Card at the gate (credentials.md, "SHC at the gate"), with keys made here."""

from __future__ import annotations

import hashlib
import pytest

from gate.codes import shc, shc_issue
from tests.credentials.credkit import SALT, trust

ISS = "https://health.example.org/issuer"
NOW = 1_780_000_000


@pytest.fixture(scope="module")
def issuer():
    return shc_issue.make_key()


def _trust(jwk, iss=ISS, **kw):
    return trust(shc_issuers={iss: {"keys": [jwk]}}, **kw)


def _card(**kw):
    kw.setdefault("nbf", NOW - 3600)
    doses = kw.pop("doses", [("208", "2026-01-01"), ("208", "2026-01-22")])
    iss = kw.pop("iss", ISS)
    nbf = kw.pop("nbf")
    return shc_issue.immunization_card(iss, nbf, "Anyperson", ["John", "B."], "1951-01-20", doses, **kw)


def test_a_card_verifies_and_is_normalised_to_the_hcert_shape(issuer):
    key, jwk = issuer
    result = shc.verify(shc_issue.issue(_card(), key, jwk["kid"]), _trust(jwk), NOW, 300)
    assert (result.valid, result.format, result.issuer, result.fields["cert_type"]) == (True, "SHC", "SHC:health.example.org", "v")
    entry = result.payload["v"][0]
    assert (entry["tg"], entry["dn"], entry["sd"], entry["dt"], entry["mp"]) == ("840539006", 2, 2, "2026-01-22", "CVX:208")


def test_the_pseudonym_uses_upper_cased_names_and_the_birth_date(issuer):
    key, jwk = issuer
    result = shc.verify(shc_issue.issue(_card(), key, jwk["kid"]), _trust(jwk), NOW, 300)
    want = hashlib.sha256(SALT + b"SHC\x00ANYPERSON\x00JOHN B.\x001951-01-20").digest()[:16].hex()
    assert result.sub == want


def test_a_chunked_card_is_malformed_and_a_single_chunk_header_is_one_card(issuer):
    key, jwk = issuer
    text = shc_issue.issue(_card(), key, jwk["kid"])
    body = text[len("shc:/"):]
    half = len(body) // 2 // 2 * 2
    assert shc.verify(f"shc:/1/2/{body[:half]}", _trust(jwk), NOW, 300).reason == "malformed"
    assert shc.verify(f"shc:/1/1/{body}", _trust(jwk), NOW, 300).valid


@pytest.mark.parametrize("text", ["shc:/", "shc:/123", "shc:/99", "shc:/5676 ", "shc:/56x6"])
def test_bad_numeric_texts_are_malformed(text):
    assert shc.verify(text, trust(), NOW, 300).reason == "malformed"


def test_an_unknown_key_a_forged_signature_and_a_der_signature_refuse(issuer):
    key, jwk = issuer
    other_key, other_jwk = shc_issue.make_key()
    card = _card()
    assert shc.verify(shc_issue.issue(card, other_key, other_jwk["kid"]), _trust(jwk), NOW, 300).reason == "unknown_key"
    assert shc.verify(shc_issue.issue(card, other_key, jwk["kid"]), _trust(jwk), NOW, 300).reason == "bad_signature"
    der = shc_issue.to_numeric(shc_issue.sign_jws(card, key, jwk["kid"], der_signature=True))
    assert shc.verify(der, _trust(jwk), NOW, 300).reason == "bad_signature"


def test_the_payloads_iss_must_be_the_keys_issuer(issuer):
    key, jwk = issuer
    text = shc_issue.issue(_card(iss="https://evil.example/issuer"), key, jwk["kid"])
    assert shc.verify(text, _trust(jwk), NOW, 300).reason == "issuer_mismatch"


def test_a_payload_without_deflate_is_malformed(issuer):
    key, jwk = issuer
    plain = shc_issue.to_numeric(shc_issue.sign_jws(_card(), key, jwk["kid"], zip_=None))
    assert shc.verify(plain, _trust(jwk), NOW, 300).reason == "malformed"


def test_nbf_with_skew_and_exp(issuer):
    key, jwk = issuer
    store = _trust(jwk)
    assert shc.verify(shc_issue.issue(_card(nbf=NOW + 200), key, jwk["kid"]), store, NOW, 300).valid
    assert shc.verify(shc_issue.issue(_card(nbf=NOW + 400), key, jwk["kid"]), store, NOW, 300).reason == "not_yet_valid"
    assert shc.verify(shc_issue.issue(_card(exp=NOW - 1), key, jwk["kid"]), store, NOW, 300).reason == "expired"


def test_a_listed_rid_is_revoked_with_or_without_its_timestamp(issuer):
    key, jwk = issuer
    text = shc_issue.issue(_card(rid="abcDEF123_-"), key, jwk["kid"])
    store = _trust(jwk)
    assert shc.verify(text, store, NOW, 300).valid
    store.revoked_hashes.add(shc.revocation_hash(ISS, "abcDEF123_-.1700000000"))
    assert shc.verify(text, store, NOW, 300).reason == "revoked"
    assert shc.revocation_hash(ISS, "abcDEF123_-") == hashlib.sha256(f"{ISS}#abcDEF123_-".encode()).digest()[:16]


def test_a_revoked_kid_refuses(issuer):
    key, jwk = issuer
    store = _trust(jwk, revoked_kids=[shc.b64url_decode(jwk["kid"])])
    assert shc.verify(shc_issue.issue(_card(), key, jwk["kid"]), store, NOW, 300).reason == "key_revoked"


def test_jwks_entries_that_are_not_ec_p256_public_keys_are_ignored(issuer):
    _, jwk = issuer
    private = {**jwk, "d": "AAAA"}
    other_curve = {**jwk, "crv": "P-384"}
    rsa = {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
    ring = shc.read_shc_issuers([{"iss": ISS, "jwks": {"keys": [private, other_curve, rsa, jwk]}},
                                 {"iss": "http://plain.example", "jwks": {"keys": [jwk]}},
                                 {"iss": ISS + "/", "jwks": {"keys": [jwk]}}])
    assert list(ring.keys) == [jwk["kid"]] and [k.issuer for k in ring.get(jwk["kid"])] == [ISS]
    assert len(ring.ignored) == 2


def test_an_incomplete_course_stays_incomplete_after_normalising(issuer):
    key, jwk = issuer
    result = shc.verify(shc_issue.issue(_card(doses=[("207", "2026-01-01")]), key, jwk["kid"]), _trust(jwk), NOW, 300)
    assert (result.payload["v"][0]["dn"], result.payload["v"][0]["sd"]) == (1, 2)
