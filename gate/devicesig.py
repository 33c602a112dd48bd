"""Request signing between a gate and its collector (spec/upload.md, "Device identity"), and the
device key that signs.

Both sides use this module: the gate signs every request with its Ed25519 device key (read by
`load_device_key`), the collector checks the signature with the public key it registered for that
device.

The signed message is ``"<METHOD>\\n<PATH>\\n<timestamp>\\n"`` followed by the body bytes as
sent on the wire (the gzip-compressed bytes when the request is compressed; empty for a GET).
``PATH`` is the request target as sent, query string included (``/v1/statuslist?since=1040``).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gate.errors import GateError

HEADER_DEVICE = "X-Gate-Device"
HEADER_TIMESTAMP = "X-Gate-Timestamp"
HEADER_SIGNATURE = "X-Gate-Signature"

# The collector refuses a timestamp further than this from its own clock.
MAX_CLOCK_SKEW_S = 600


class DeviceKeyError(GateError, ValueError):
    """The device key is missing or cannot be used; the message is one line saying what to do."""


def load_device_key(path: Path) -> Ed25519PrivateKey:
    """The gate's Ed25519 device key from its PEM file; DeviceKeyError (one line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DeviceKeyError(
            f"device key {path} is missing: make one with 'gate keys' and register its public "
            "key with the collector"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise DeviceKeyError(f"device key {path} cannot be used: {path}: not a readable unencrypted PEM "
                             f"private key ({exc})") from None
    except Exception as exc:  # noqa: BLE001  (UnsupportedAlgorithm and kin: one answer)
        raise DeviceKeyError(f"device key {path} cannot be used: {type(exc).__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DeviceKeyError(f"device key {path} is not an Ed25519 key (upload.md requires Ed25519)")
    return key


def signing_message(method: str, path: str, timestamp: int, body: bytes) -> bytes:
    """The exact bytes that are signed for one request."""
    return f"{method.upper()}\n{path}\n{int(timestamp)}\n".encode("utf-8") + body


def sign_headers(
    private_key: Ed25519PrivateKey,
    device_id: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
) -> dict[str, str]:
    """The three X-Gate-* headers that authenticate one request.

    `timestamp` is the gate's unix time in seconds, already corrected by any clock offset the
    collector reported; `body` is the bytes as they will be sent.
    """
    signature = private_key.sign(signing_message(method, path, timestamp, body))
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIMESTAMP: str(int(timestamp)),
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


def verify_signature(
    public_key: Ed25519PublicKey,
    method: str,
    path: str,
    timestamp: int,
    body: bytes,
    signature_b64: str,
) -> bool:
    """True when `signature_b64` is the device's signature over this request; never raises."""
    try:
        signature = base64.b64decode(signature_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    try:
        public_key.verify(signature, signing_message(method, path, timestamp, body))
    except InvalidSignature:
        return False
    return True


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of the SPKI DER.

    Raises ValueError with a one-line message when the text is neither, or not an Ed25519 key.
    """
    data = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    data = data.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise ValueError("not a PEM or base64 SubjectPublicKeyInfo public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """Base64 (standard, padded) of the key's SubjectPublicKeyInfo DER: the stored form."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")
