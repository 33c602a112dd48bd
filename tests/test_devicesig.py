"""Request signing shared by the gate and the collector (upload.md, "Device identity")."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_the_signed_message_is_method_path_timestamp_then_body():
    message = devicesig.signing_message("get", "/v1/statuslist?since=1040", 1764000000, b"")
    assert message == b"GET\n/v1/statuslist?since=1040\n1764000000\n"
    assert devicesig.signing_message("POST", "/v1/scans", 5, b"\x1f\x8b") == (
        b"POST\n/v1/scans\n5\n\x1f\x8b")


def test_headers_carry_device_timestamp_and_a_verifiable_signature(key):
    headers = devicesig.sign_headers(key, "gate-nc-0001", "POST", "/v1/scans", b"{}", 1764000000)
    assert headers["X-Gate-Device"] == "gate-nc-0001"
    assert headers["X-Gate-Timestamp"] == "1764000000"
    assert devicesig.verify_signature(key.public_key(), "POST", "/v1/scans", 1764000000, b"{}",
                                      headers["X-Gate-Signature"])


@pytest.mark.parametrize("method, path, timestamp, body", [
    ("PUT", "/v1/scans", 1764000000, b"{}"),
    ("POST", "/v1/alerts", 1764000000, b"{}"),
    ("POST", "/v1/scans", 1764000001, b"{}"),
    ("POST", "/v1/scans", 1764000000, b"{ }"),
])
def test_any_change_to_the_request_breaks_the_signature(key, method, path, timestamp, body):
    signature = devicesig.sign_headers(key, "g", "POST", "/v1/scans", b"{}",
                                       1764000000)["X-Gate-Signature"]
    assert not devicesig.verify_signature(key.public_key(), method, path, timestamp, body,
                                          signature)


@pytest.mark.parametrize("signature", ["", "not base64!", "QUJD", "é"])
def test_a_garbled_signature_is_false_not_an_exception(key, signature):
    assert not devicesig.verify_signature(key.public_key(), "GET", "/", 1, b"", signature)


def test_public_keys_load_from_pem_or_base64_spki(key):
    public = key.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    b64 = devicesig.public_key_b64(public)
    assert devicesig.public_key_b64(devicesig.load_public_key(pem)) == b64
    assert devicesig.public_key_b64(devicesig.load_public_key(pem.decode())) == b64
    assert devicesig.public_key_b64(devicesig.load_public_key(b64)) == b64
    assert base64.b64decode(b64)[:12] == bytes.fromhex("302a300506032b6570032100")


@pytest.mark.parametrize("text", [
    "", "hello", "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----",
])
def test_a_non_key_is_a_value_error(text):
    with pytest.raises(ValueError):
        devicesig.load_public_key(text)


def test_a_non_ed25519_key_is_a_value_error():
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        devicesig.load_public_key(pem)
