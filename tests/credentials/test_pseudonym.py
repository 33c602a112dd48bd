"""Who a credential's holder is at the gate (credentials.md): a salted pseudonym over NFC text, the
fleet's salt from the signed trust list, and a masked name."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from types import SimpleNamespace

from gate.credentials.pseudonym import masked_name, pseudonym, salt_of

SALT = bytes(range(32))


def test_the_pseudonym_is_the_salted_hash_of_format_names_and_birth_date():
    want = hashlib.sha256(SALT + b"DCC\x00MUSTERMANN\x00ERIKA\x001964-08-12").digest()[:16].hex()
    assert pseudonym(SALT, "DCC", "MUSTERMANN", "ERIKA", "1964-08-12") == want


def test_text_is_normalised_to_nfc_so_one_person_is_one_pseudonym():
    composed, decomposed = "MÜLLER", unicodedata.normalize("NFD", "MÜLLER")
    assert composed != decomposed
    assert pseudonym(SALT, "SHC", composed, "J", "1990") == pseudonym(SALT, "SHC", decomposed, "J", "1990")


def test_formats_and_salts_separate_subjects():
    base = pseudonym(SALT, "DCC", "A", "B", "2000-01-01")
    assert base != pseudonym(SALT, "SHC", "A", "B", "2000-01-01")
    assert base != pseudonym(b"\x01" * 32, "DCC", "A", "B", "2000-01-01")
    assert base != pseudonym(SALT, "DCC", "AB", "", "2000-01-01")  # the separators count


def test_the_salt_comes_from_the_trust_list_and_only_when_it_is_32_bytes():
    def listed(value):
        return SimpleNamespace(document={"pseudonym_salt": value})

    assert salt_of(listed(base64.b64encode(SALT).decode())) == SALT
    assert salt_of(listed(base64.b64encode(b"short").decode())) is None
    assert salt_of(listed("not base64!")) is None
    assert salt_of(SimpleNamespace(document={})) is None
    assert salt_of(None) is None


def test_names_are_masked_as_jkm1_issuers_mask_theirs():
    assert masked_name("Schneider", "Anna") == "S*r A*a"
    assert masked_name("Li", "X") == "L* X"
    assert masked_name("", "") is None
