"""The trust store: signed documents only, newer only, all or nothing, kept on disk."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.codes.trust import TrustError, TrustStore, parse_trust_list
from tests.pki import NOW, subject_id


@pytest.fixture
def store(pki, tmp_path):
    s = pki.store(tmp_path / "state" / "trust.db")
    yield s
    s.close()


def test_the_provisioned_folder_is_loaded(store):
    assert (store.trust_version, store.status_version) == (1, 1)
    assert store.load_errors == []


def test_a_newer_trust_list_is_applied_and_kept_on_disk(pki, store, tmp_path):
    data = pki.trust_list(2)
    assert store.apply_trust_list(data, pki.sign(data)) is True
    assert store.trust_version == 2
    assert (pki.trust_dir / "trustlist.json").read_bytes() == data
    reopened = TrustStore(pki.trust_dir, tmp_path / "state" / "trust.db")
    assert reopened.trust_version == 2


def test_the_same_version_again_is_a_no_op(pki, store):
    data = pki.trust_list(1)
    assert store.apply_trust_list(data, pki.sign(data)) is False


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p.trust_list(2), p.sign(b"other bytes")), "does not verify under any trust anchor"),
        (lambda p: (p.trust_list(2), "%%%"), "not base64"),
        (lambda p: (b"{not json", p.sign(b"{not json")), "not valid JSON"),
        (lambda p: (b"[1, 2]", p.sign(b"[1, 2]")), "not a JSON object"),
        (lambda p: (b'{"version": "2"}', p.sign(b'{"version": "2"}')), "'version' must be"),
        (lambda p: (p.trust_list(0), p.sign(p.trust_list(0))), "rollback refused"),
    ],
    ids=["bad_signature", "signature_not_base64", "bad_json", "not_an_object", "wrong_shape", "older_version"],
)
def test_refused_trust_lists_leave_the_previous_one_in_force(pki, store, make, message):
    pki.write_trust_list(1)
    data, sig = make(pki)
    with pytest.raises(TrustError, match=message):
        store.apply_trust_list(data, sig)
    assert store.trust_version == 1
    assert store.trust_list.keys


def test_a_list_signed_by_an_issuer_key_instead_of_an_anchor_is_refused(pki, store):
    data = pki.trust_list(2)
    sig = issuelib.sign_document(pki.jx.private_key, data)
    with pytest.raises(TrustError, match="any trust anchor"):
        store.apply_trust_list(data, sig)


def test_entries_whose_kid_does_not_match_their_key_are_ignored(pki):
    entry = issuelib.trust_entry(pki.jx.private_key.public_key(), "CN-JX", 0, NOW * 2, 86400)
    entry["kid"] = keylib.b64url(b"\0" * 8)
    parsed = parse_trust_list(issuelib.make_trust_list(5, NOW, NOW + 1, [entry]))
    assert parsed.keys == {}
    assert "kid does not match" in parsed.ignored[0]


def test_entries_whose_alg_does_not_match_the_key_type_are_ignored(pki):
    entry = issuelib.trust_entry(pki.sx.private_key.public_key(), "CN-ZJ-SX", 0, NOW * 2, 86400)
    entry["alg"] = "EdDSA"
    assert parse_trust_list(issuelib.make_trust_list(5, NOW, NOW + 1, [entry])).keys == {}


def test_a_stale_trust_list_stays_in_force(store):
    assert store.trust_list.is_stale(NOW + 31 * 86400)
    assert not store.trust_list.is_stale(NOW)


def test_a_full_status_list_replaces_and_a_delta_updates(pki, store):
    alice, bob = subject_id("alice"), subject_id("bob")
    full = pki.status_list(5, [("CN-JX", alice, 2, NOW), ("CN-JX", bob, 1, NOW)])
    assert store.apply_status_list(full, pki.sign(full))
    delta = pki.status_list(6, [("CN-JX", bob, 2, NOW + 5)], base=5)
    assert store.apply_status_list(delta, pki.sign(delta))
    assert store.status_of("CN-JX", bob) == (2, NOW + 5)
    assert store.status_of("CN-JX", alice) == (2, NOW)
    full2 = pki.status_list(7, [("CN-JX", bob, 1, NOW + 9)])
    store.apply_status_list(full2, pki.sign(full2))
    assert store.status_of("CN-JX", alice) is None
    assert store.status_version == 7


def test_a_delta_on_the_wrong_base_is_refused_and_changes_nothing(pki, store):
    delta = pki.status_list(9, [("CN-JX", subject_id("carol"), 2, NOW)], base=8)
    with pytest.raises(TrustError, match="fetch a full list"):
        store.apply_status_list(delta, pki.sign(delta))
    assert store.status_version == 1
    assert store.status_of("CN-JX", subject_id("carol")) is None


@pytest.mark.parametrize(
    "entries",
    [[{"iss": "CN-JX", "sub": "00", "status": 2, "since": 1}], [{"iss": "CN-JX", "sub": "00" * 16, "status": 3, "since": 1}],
     [{"iss": "CN-JX", "sub": "zz" * 16, "status": 2, "since": 1}], [{"sub": "00" * 16, "status": 2, "since": 1}]],
)
def test_a_status_list_with_one_bad_entry_is_refused_whole(pki, store, entries):
    good = {"iss": "CN-JX", "sub": subject_id("dave").hex(), "status": 2, "since": 1}
    data = json.dumps({"version": 3, "base_version": 0, "issued_at": NOW, "entries": [good] + entries}).encode()
    with pytest.raises(TrustError):
        store.apply_status_list(data, pki.sign(data))
    assert store.status_of("CN-JX", subject_id("dave")) is None


def test_an_older_status_list_is_refused(pki, store):
    newer = pki.status_list(4, [])
    store.apply_status_list(newer, pki.sign(newer))
    older = pki.status_list(3, [])
    with pytest.raises(TrustError, match="rollback"):
        store.apply_status_list(older, pki.sign(older))


def test_a_large_status_list_is_applied_atomically_on_disk(pki, store):
    entries = [("CN-JX", i.to_bytes(16, "big"), 2, NOW) for i in range(50_000)]
    data = pki.status_list(2, entries)
    store.apply_status_list(data, pki.sign(data))
    assert store.status_count() == 50_000
    assert store.status_of("CN-JX", (49_999).to_bytes(16, "big")) == (2, NOW)


def test_a_list_applied_by_another_process_is_seen_after_refresh(pki, store, tmp_path):
    other = TrustStore(pki.trust_dir, tmp_path / "state" / "trust.db")
    data = pki.trust_list(3)
    other.apply_trust_list(data, pki.sign(data))
    store.refresh()
    assert store.trust_version == 3


def test_an_unsigned_file_in_the_folder_is_reported_not_applied(pki, tmp_path):
    (pki.trust_dir / "trustlist.json.sig").write_text(pki.sign(b"something else"))
    store = TrustStore(pki.trust_dir, tmp_path / "s.db")
    assert store.trust_list is None
    assert "trustlist.json" in store.load_errors[0]


def test_a_folder_without_anchors_is_refused(tmp_path):
    (tmp_path / "anchors").mkdir()
    with pytest.raises(TrustError, match="no trust anchor"):
        TrustStore(tmp_path)


def test_status_table_is_indexed_by_issuer_and_subject(store):
    plan = store._db.execute("EXPLAIN QUERY PLAN SELECT status FROM status WHERE iss='a' AND sub=x'00'").fetchall()
    assert "PRIMARY KEY" in str(plan) or "INDEX" in str(plan)
    assert isinstance(store._db, sqlite3.Connection)


# --- the status list in force -------------------------------------------------------------


def test_a_status_list_is_in_force_once_a_good_one_was_applied(pki, store):
    assert store.status_in_force
    assert not store.status_stale(NOW, 48 * 3600)
    assert store.status_stale(NOW + 49 * 3600, 48 * 3600)


@pytest.mark.parametrize("damage", ["absent", "sig_absent", "tampered"])
def test_without_a_good_status_list_none_is_in_force(pki, tmp_path, damage):
    status = pki.trust_dir / "statuslist.json"
    if damage == "absent":
        status.unlink()
        (pki.trust_dir / "statuslist.json.sig").unlink()
    elif damage == "sig_absent":
        (pki.trust_dir / "statuslist.json.sig").unlink()
    else:
        status.write_bytes(status.read_bytes().replace(b'"version":1', b'"version":2'))
    for state in (None, tmp_path / "state.db"):
        store = TrustStore(pki.trust_dir, state)
        assert store.trust_version == 1
        assert not store.status_in_force
        assert not store.status_stale(NOW, 48 * 3600)  # missing, which is worse than stale
        store.close()


def test_a_status_list_applied_once_stays_in_force_when_its_file_is_later_damaged(pki, tmp_path):
    TrustStore(pki.trust_dir, tmp_path / "state.db").close()
    (pki.trust_dir / "statuslist.json").write_bytes(b"{}")
    again = TrustStore(pki.trust_dir, tmp_path / "state.db")
    assert again.status_in_force and again.load_errors


# --- reading the folder safely (trust-list.md "Reading the folder") ----------------------


def test_a_fifo_as_the_trust_list_is_a_load_error_not_a_hang(pki):
    (pki.trust_dir / "trustlist.json").unlink()
    os.mkfifo(pki.trust_dir / "trustlist.json")
    store = TrustStore(pki.trust_dir)
    assert store.trust_list is None
    assert store.load_errors == [f"{pki.trust_dir / 'trustlist.json'}: is a FIFO; only a regular file is read"]


def test_dev_zero_as_the_status_list_is_a_load_error(pki):
    (pki.trust_dir / "statuslist.json").unlink()
    (pki.trust_dir / "statuslist.json").symlink_to("/dev/zero")
    store = TrustStore(pki.trust_dir)
    assert not store.status_in_force
    assert "is a device" in store.load_errors[0]


def test_a_signature_that_is_not_utf8_is_a_one_line_load_error(pki):
    (pki.trust_dir / "trustlist.json.sig").write_bytes(b"\xff\xfe\xfd")
    store = TrustStore(pki.trust_dir)
    assert store.trust_list is None
    assert store.load_errors == [f"{pki.trust_dir / 'trustlist.json.sig'}: is not UTF-8 text"]


@pytest.mark.parametrize("content", [b"not pem at all", b"\x00\x01\x02" * 50,
                                     b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_an_anchor_that_is_not_pem_is_a_one_line_trust_error(pki, content):
    (pki.trust_dir / "anchors" / "bad.pem").write_bytes(content)
    with pytest.raises(TrustError) as err:
        TrustStore(pki.trust_dir)
    assert str(err.value).startswith(str(pki.trust_dir / "anchors" / "bad.pem"))
    assert "\n" not in str(err.value)


def test_a_planted_temporary_link_is_not_followed_when_a_list_is_kept(pki, store, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    for name in ("trustlist.json.sig.tmp", "trustlist.json.tmp"):
        (pki.trust_dir / name).symlink_to(victim)
    data = pki.trust_list(2)
    assert store.apply_trust_list(data, pki.sign(data))
    assert victim.read_bytes() == b"untouched"
    sig = pki.trust_dir / "trustlist.json.sig"
    assert not sig.is_symlink() and sig.read_text().strip() == pki.sign(data).strip()
    assert (pki.trust_dir / "trustlist.json").read_bytes() == data


# --- the cache database is rebuilt from the signed files ---------------------------------


@pytest.mark.parametrize("damage", ["random_bytes", "truncated"])
def test_a_corrupt_cache_is_moved_aside_and_rebuilt_from_the_files_that_verify(pki, tmp_path, damage):
    state = tmp_path / "state" / "trust.db"
    first = TrustStore(pki.trust_dir, state)
    entries = [("CN-JX", i.to_bytes(16, "big"), 2, NOW) for i in range(20_000)]
    data = pki.status_list(2, entries)
    first.apply_status_list(data, pki.sign(data))
    first.close()
    for suffix in ("-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)
    if damage == "random_bytes":
        state.write_bytes(os.urandom(64 * 1024))
    else:
        raw = state.read_bytes()
        state.write_bytes(raw[: len(raw) // 2])
    rebuilt = TrustStore(pki.trust_dir, state)
    assert rebuilt.cache_rebuilt and "rebuilt from the signed files" in rebuilt.cache_rebuilt
    assert state.with_name("trust.db.corrupt").exists()
    assert (rebuilt.trust_version, rebuilt.status_version, rebuilt.status_in_force) == (1, 2, True)
    assert rebuilt.status_of("CN-JX", (19_999).to_bytes(16, "big")) == (2, NOW)
    rebuilt.close()
    assert TrustStore(pki.trust_dir, state).cache_rebuilt is None  # healthy again


def test_a_locked_cache_is_not_mistaken_for_a_damaged_one(tmp_path):
    from gate.codes.trust import _is_damage

    (tmp_path / "junk.db").write_bytes(os.urandom(4096))
    with pytest.raises(sqlite3.DatabaseError) as not_a_database:
        sqlite3.connect(tmp_path / "junk.db").execute("PRAGMA journal_mode=WAL")
    assert _is_damage(not_a_database.value)
    holder = sqlite3.connect(tmp_path / "ok.db", isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            sqlite3.connect(tmp_path / "ok.db", timeout=0).execute("SELECT * FROM t").fetchall()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not _is_damage(locked.value)


# --- keys of other formats (credentials.md) -----------------------------------------------------


def _with(data: bytes, **sections) -> bytes:
    doc = json.loads(data)
    doc.update(sections)
    return json.dumps(doc).encode()


def _text_id_ring(section):
    """A reader as an SHC module would write one: text ids (JWK thumbprints), EC keys."""
    from gate.codes.trust import KeyRing, TrustedKey
    keys, ignored = {}, []
    for n, entry in enumerate(section or []):
        if not isinstance(entry.get("kid"), str):
            ignored.append(f"shc_issuers[{n}]: no kid")
            continue
        key = keylib.public_key_from_der(bytes.fromhex(entry["der"]))
        keys.setdefault(entry["kid"], []).append(TrustedKey(kid=entry["kid"], issuer=entry["iss"], alg="ES256",
                                                            public_key=key, details={"iss": entry["iss"]}))
    return KeyRing({kid: tuple(ks) for kid, ks in keys.items()}, tuple(ignored))


def test_a_formats_own_section_is_read_by_its_reader_once_and_keyed_by_its_own_ids(pki, store):
    der = keylib.spki_der(pki.sx.private_key.public_key())
    data = _with(pki.trust_list(2), shc_issuers=[{"kid": "thumb-print", "iss": "https://x", "der": der.hex()}, {}])
    assert store.apply_trust_list(data, pki.sign(data))
    calls = []
    ring = store.trust_list.keyring("shc_issuers", lambda s: calls.append(1) or _text_id_ring(s))
    assert store.trust_list.keyring("shc_issuers", lambda s: calls.append(1) or _text_id_ring(s)) is ring
    assert len(calls) == 1
    (key,) = ring.get("thumb-print")
    assert key.issuer == "https://x" and key.details == {"iss": "https://x"} and keylib.spki_der(key.public_key) == der
    assert ring.get(b"thumb-print") == () and ring.ignored == ("shc_issuers[1]: no kid",)
    assert store.trust_list.document["version"] == 2


def test_a_section_its_reader_cannot_read_is_an_empty_ring_that_says_why_and_jkm1_stays(pki, store):
    ring = store.trust_list.keyring("dscs", lambda section: section["missing"])
    assert ring.keys == {} and ring.ignored[0].startswith("dscs:")
    assert store.trust_list.keys  # JKM1's keys untouched


def _revoking(version: int, hashes: list[str], base: int = 0) -> bytes:
    return _with(issuelib.make_status_list(version, NOW - 60, [], base), revoked_hashes=hashes)


def test_revoked_hashes_a_full_list_replaces_and_a_delta_adds(pki, store):
    one, two, three = (bytes([n]) * 16 for n in (1, 2, 3))
    data = _revoking(2, [one.hex(), two.hex()])
    assert store.apply_status_list(data, pki.sign(data))
    assert store.is_revoked_hash(one) and store.is_revoked_hash(two) and not store.is_revoked_hash(three)
    data = _revoking(3, [three.hex()], base=2)
    assert store.apply_status_list(data, pki.sign(data))
    assert all(store.is_revoked_hash(h) for h in (one, two, three))
    data = _revoking(4, [two.hex()])
    assert store.apply_status_list(data, pki.sign(data))
    assert [store.is_revoked_hash(h) for h in (one, two, three)] == [False, True, False]


@pytest.mark.parametrize("hashes", [["00" * 15], ["zz" * 16], [16], "00" * 16])
def test_a_status_list_with_a_bad_revoked_hash_is_refused_whole(pki, store, hashes):
    data = _revoking(2, hashes)
    with pytest.raises(TrustError, match="revoked_hashes"):
        store.apply_status_list(data, pki.sign(data))
    assert store.status_version == 1
