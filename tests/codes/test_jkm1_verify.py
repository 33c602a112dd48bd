"""Verification: every shared vector, the check order, both algorithms, the status list."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.codes.jkm1_verify import verify
from tests.pki import NOW, VECTORS, subject_id

import json

VECTOR_LIST = json.loads((VECTORS / "codes.json").read_text())["vectors"]


@pytest.fixture(scope="module")
def vector_store(request: pytest.FixtureRequest):
    from gate.codes.trust import TrustStore

    store = TrustStore(VECTORS / "trust")
    yield store
    store.close()


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["name"] for v in VECTOR_LIST])
def test_every_shared_vector_gives_its_expected_result(vector, vector_store, vectors):
    result = verify(vector["qr"], vector_store, vector["now"], vectors["skew_s"]).to_json()
    for key, expected in vector["expect"].items():
        assert result.get(key) == expected, (key, result)
    if not result["valid"]:
        assert "status" not in result


@pytest.mark.parametrize("status", ["green", "yellow", "red"])
@pytest.mark.parametrize("issuer", ["jx", "sx"])
def test_issued_codes_verify_with_their_status_under_both_algorithms(pki, status, issuer):
    store = pki.store()
    qr = pki.code(status, issuer=issuer, valid_for=1800, home="360102-012", name="张*明", itinerary_risk=True)
    result = verify(qr, store, NOW)
    assert (result.valid, result.reason, result.status) == (True, "ok", status)
    assert result.issuer == getattr(pki, issuer).issuer
    assert result.sub == subject_id("alice").hex()
    assert (result.home, result.name, result.itinerary_risk) == ("360102-012", "张*明", True)


def test_a_code_signed_by_a_key_the_list_gives_to_another_issuer_is_issuer_mismatch(pki):
    from gate.codes.issue import Issuer, make_code

    forged = Issuer("CN-ZJ-SX", pki.jx.private_key)  # the JX key claiming to speak for Shaoxing
    qr = make_code(forged, subject_id("x"), "green", NOW - 60, NOW + 600)
    assert verify(qr, pki.store(), NOW).reason == "issuer_mismatch"


def test_revoked_key_is_refused_before_its_signature_is_checked(pki):
    from gate.codes.keys import b64url

    pki.write_trust_list(2, revoked=(b64url(pki.jx.kid),))
    assert verify(pki.code(), pki.store(), NOW).reason == "key_revoked"
    assert verify(pki.code(issuer="sx"), pki.store(), NOW).reason == "ok"


def test_validity_longer_than_the_key_allows_is_refused(pki):
    pki.write_trust_list(2, max_validity_s=600)
    assert verify(pki.code(valid_for=601), pki.store(), NOW).reason == "validity_too_long"
    assert verify(pki.code(valid_for=600), pki.store(), NOW).reason == "ok"


@pytest.mark.parametrize(
    ("now", "reason"),
    [(NOW - 600 - 301, "not_yet_valid"), (NOW - 600 - 300, "ok"), (NOW + 2400 + 300, "ok"), (NOW + 2400 + 301, "expired")],
)
def test_time_checks_allow_exactly_the_skew(pki, now, reason):
    assert verify(pki.code(iat=NOW - 600, valid_for=3000), pki.store(), now, skew=300).reason == reason


def test_status_list_raises_a_status_only_for_entries_newer_than_the_code(pki):
    sub = subject_id("alice")
    pki.write_status_list(2, [("CN-JX", sub, 2, NOW - 100), ("CN-JX", subject_id("bob"), 2, NOW - 10_000)])
    store = pki.store()
    raised = verify(pki.code("green", iat=NOW - 600), store, NOW)
    assert (raised.status, raised.status_raised) == ("red", True)
    older = verify(pki.code("green", subject="bob", iat=NOW - 600), store, NOW)
    assert (older.status, older.status_raised) == ("green", False)


def test_status_list_never_lowers_a_status(pki):
    pki.write_status_list(2, [("CN-JX", subject_id("alice"), 0, NOW - 100)])
    result = verify(pki.code("yellow", iat=NOW - 600), pki.store(), NOW)
    assert (result.status, result.status_raised) == ("yellow", False)


def test_status_list_entry_of_another_issuer_does_not_apply(pki):
    pki.write_status_list(2, [("CN-ZJ-SX", subject_id("alice"), 2, NOW - 100)])
    assert verify(pki.code("green", issuer="jx"), pki.store(), NOW).status == "green"


def test_without_a_trust_list_every_code_is_unknown_key(pki):
    (pki.trust_dir / "trustlist.json").unlink()
    assert verify(pki.code(), pki.store(), NOW).reason == "unknown_key"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), st.text(max_size=300).map(lambda s: "JKM1:" + s)))
def test_arbitrary_text_and_bytes_never_raise(vector_store, data):
    result = verify(data, vector_store, NOW)
    assert not result.valid
    assert result.status is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_single_character_change_is_never_accepted_with_another_status(pki_store_and_codes, data):
    store, codes = pki_store_and_codes
    status, qr = data.draw(st.sampled_from(codes))
    pos = data.draw(st.integers(0, len(qr) - 1))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abc\x00é"
    ch = data.draw(st.sampled_from(alphabet).filter(lambda c: c != qr[pos]))
    result = verify(qr[:pos] + ch + qr[pos + 1:], store, NOW)
    assert not result.valid or result.status == status


@pytest.fixture(scope="module")
def pki_store_and_codes(tmp_path_factory, _pki_keys):
    """A store and one code per status and algorithm, shared by the mutation property."""
    from tests.pki import PKI
    from gate.codes import issue as issuelib
    from gate.codes import keys as keylib

    anchor, jx, sx = _pki_keys
    p = PKI(tmp_path_factory.mktemp("mut"), anchor, issuelib.Issuer("CN-JX", jx), issuelib.Issuer("CN-ZJ-SX", sx))
    (p.trust_dir / "anchors").mkdir(parents=True)
    (p.trust_dir / "anchors" / "a.pem").write_bytes(keylib.public_pem(anchor.public_key()))
    p.write_trust_list(1)
    codes = [(s, p.code(s, issuer=i)) for s in ("green", "yellow", "red") for i in ("jx", "sx")]
    return p.store(), codes


def test_keys_sharing_a_kid_are_each_tried(pki):
    from gate.codes import issue as issuelib

    old = issuelib.trust_entry(pki.jx.private_key.public_key(), "CN-JX", NOW - 10**7, NOW - 10**6, 86400)
    pki.extra_entries = [old]
    pki.write_trust_list(2)
    store = pki.store()
    assert len(store.trust_list.keys[pki.jx.kid]) == 2
    assert verify(pki.code(), store, NOW).reason == "ok"


def test_of_keys_sharing_a_kid_the_one_that_got_furthest_names_the_reason(pki):
    from gate.codes import issue as issuelib

    wrong_issuer = issuelib.trust_entry(pki.jx.private_key.public_key(), "CN-OTHER", NOW - 10**7, NOW + 10**7, 86400)
    expired_key = issuelib.trust_entry(pki.jx.private_key.public_key(), "CN-JX", NOW - 10**7, NOW - 10**6, 86400)
    pki.extra_entries = [wrong_issuer, expired_key]
    pki.write_trust_list(2)
    trust_list = json.loads((pki.trust_dir / "trustlist.json").read_text())
    trust_list["keys"] = [k for k in trust_list["keys"] if k["issuer"] != "CN-JX" or k["not_after"] < NOW]
    data = json.dumps(trust_list).encode()
    (pki.trust_dir / "trustlist.json").write_bytes(data)
    (pki.trust_dir / "trustlist.json.sig").write_text(pki.sign(data))
    assert verify(pki.code(), pki.store(), NOW).reason == "key_expired"


def test_the_copy_of_the_vectors_in_tests_matches_the_shared_ones():
    from tests.pki import ROOT, SHARED

    shared = SHARED / "vectors"
    if not (shared / "codes.json").is_file():
        pytest.skip("no ../shared beside this checkout: the copy in tests/vectors is used")
    copy = ROOT / "tests" / "vectors"
    for name in ("codes.json", "trust/trustlist.json", "trust/trustlist.json.sig", "trust/statuslist.json",
                 "trust/statuslist.json.sig", "trust/anchors/anchor.pem"):
        assert (copy / name).read_bytes() == (shared / name).read_bytes(), name


@pytest.mark.parametrize("now", [float("nan"), float("inf"), float("-inf"), "1795000000", None, True])
def test_a_now_that_is_not_a_finite_number_is_bad_input(pki, now):
    store = pki.store()
    expired = pki.code("green", iat=NOW - 7200, valid_for=600)
    result = verify(expired, store, now)  # type: ignore[arg-type]
    assert (result.valid, result.reason) == (False, "bad_input")


def test_format_and_control_characters_in_what_a_code_says_are_removed(pki):
    store = pki.store()
    code = pki.code("green", name="\u202eEVIL\u202c \u2066张\u200b三\u2069\n\x1b[31m", home="360102-012\u202e")
    result = verify(code, store, NOW)
    assert result.valid
    assert result.name == "EVIL 张三[31m"
    assert result.home == "360102-012"
    assert result.to_json()["name"] == "EVIL 张三[31m"


def test_a_plain_name_is_kept_as_it_is(pki):
    result = verify(pki.code("green", name="张*", home="360102-012"), pki.store(), NOW)
    assert (result.name, result.home) == ("张*", "360102-012")
