"""The signature schemes the gate verifies, whatever format names them: EdDSA, ES256 (raw r||s on
the key's curve), PS256 (RSA-PSS, salt 32), each on its own kind of key only."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gate.codes import keys as keylib

DATA = b"a signed structure"


def _raw_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    half = (key.curve.key_size + 7) // 8
    return r.to_bytes(half, "big") + s.to_bytes(half, "big")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_ps256_verifies_rsa_pss_with_salt_32_and_nothing_else(rsa_key):
    good = rsa_key.sign(DATA, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    other_salt = rsa_key.sign(DATA, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256())
    assert keylib.verify_signature(rsa_key.public_key(), "PS256", good, DATA)
    assert not keylib.verify_signature(rsa_key.public_key(), "PS256", good, DATA + b"!")
    assert not keylib.verify_signature(rsa_key.public_key(), "PS256", other_salt, DATA)


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def test_es256_verifies_raw_r_s_on_the_keys_own_curve(curve):
    key = ec.generate_private_key(curve)
    signature = _raw_ecdsa(key, DATA)
    assert keylib.verify_signature(key.public_key(), "ES256", signature, DATA)
    assert not keylib.verify_signature(key.public_key(), "ES256", signature[:-1], DATA)
    assert not keylib.verify_signature(key.public_key(), "ES256", key.sign(DATA, ec.ECDSA(hashes.SHA256())), DATA)


def test_a_scheme_on_the_wrong_kind_of_key_or_an_unknown_scheme_is_false_not_an_error(rsa_key):
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    assert not keylib.verify_signature(p256.public_key(), "EdDSA", ed.sign(DATA), DATA)
    assert not keylib.verify_signature(ed.public_key(), "ES256", _raw_ecdsa(p256, DATA), DATA)
    assert not keylib.verify_signature(p256.public_key(), "PS256", b"\0" * 256, DATA)
    assert not keylib.verify_signature(rsa_key.public_key(), "RS256", b"\0" * 256, DATA)


def test_key_types_are_named_for_what_they_are(rsa_key):
    assert keylib.key_type_of(ed25519.Ed25519PrivateKey.generate().public_key()) == "Ed25519"
    assert keylib.key_type_of(ec.generate_private_key(ec.SECP256R1())) == "P-256"
    assert keylib.key_type_of(ec.generate_private_key(ec.SECP384R1()).public_key()) == "P-384"
    assert keylib.key_type_of(rsa_key.public_key()) == "RSA"
    assert keylib.key_type_of(object()) is None


def test_every_scheme_names_the_key_types_it_runs_on():
    assert keylib.ALGORITHM_KEY_TYPES == {"EdDSA": {"Ed25519"}, "ES256": {"P-256", "P-384"}, "PS256": {"RSA"}}


def test_jkm1_keys_stay_ed25519_or_p256(rsa_key):
    with pytest.raises(ValueError):
        keylib.alg_of(rsa_key.public_key())
