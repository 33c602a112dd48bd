"""Key handling shared by the verifiers, the trust store and the issuer side.

Key ids (health-code.md §2), PEM files, and the signature schemes the gate verifies, each by its
COSE/JOSE name: EdDSA (Ed25519), ES256 (ECDSA with SHA-256 in the raw r||s form of RFC 9053,
not DER, on the key's own curve: P-256, or P-384 as some DCC issuers use), PS256 (RSA-PSS with
SHA-256, MGF1 SHA-256, salt 32). Which schemes and key types a code format accepts is the
format's to declare; JKM1 signs with EdDSA or ES256 on P-256 only (`alg_of`).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey]

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PSS_SHA256_SALT32 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

# The signature schemes verify_signature knows, and the key types each runs on.
ALGORITHM_KEY_TYPES: dict[str, frozenset[str]] = {
    "EdDSA": frozenset({"Ed25519"}),
    "ES256": frozenset({"P-256", "P-384"}),
    "PS256": frozenset({"RSA"}),
}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def spki_der(public_key: PublicKey) -> bytes:
    """The SubjectPublicKeyInfo DER bytes of a public key."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def kid_of(public_key_der: bytes) -> bytes:
    """The 8-byte key id: the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER."""
    return hashlib.sha256(public_key_der).digest()[:8]


def b64url(data: bytes) -> str:
    """base64url without padding, the form of `kid` in trust lists."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of b64url; raises ValueError on bad input."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def alg_of(key: PublicKey | PrivateKey) -> str:
    """The JKM1 algorithm name a key is for: EdDSA or ES256; ValueError for anything else."""
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return "EdDSA"
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return "ES256"
    raise ValueError("only Ed25519 and ECDSA P-256 keys are supported")


def key_type_of(key: object) -> str | None:
    """The key type of a public or private key: Ed25519, P-256, P-384, P-521, RSA; None for others."""
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return "Ed25519"
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return _CURVE_NAMES.get(key.curve.name)
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return "RSA"
    return None


def verify_signature(public_key: PublicKey, alg: str, signature: bytes, data: bytes) -> bool:
    """True when `signature` over `data` is valid for `public_key` under `alg` (a key of
    ALGORITHM_KEY_TYPES[alg]); False for a bad signature, an unknown scheme or a key of another type."""
    try:
        if alg == "EdDSA":
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                return False
            public_key.verify(signature, data)
            return True
        if alg == "ES256":
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                return False
            half = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * half:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            public_key.verify(der, data, _ECDSA_SHA256)
            return True
        if alg == "PS256":
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, data, _PSS_SHA256_SALT32, hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False


def sign(private_key: PrivateKey, data: bytes) -> bytes:
    """Sign for JKM1: Ed25519, or ES256 as raw r||s."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    r, s = decode_dss_signature(private_key.sign(data, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def generate(alg: str) -> PrivateKey:
    """A new private key for `alg` (EdDSA or ES256)."""
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown algorithm {alg!r}; use EdDSA or ES256")


def private_pem(private_key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (device and test keys are protected by file permissions)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(public_key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> PrivateKey:
    """A private key from a PEM file; ValueError naming the file when it is not one we can use."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable unencrypted PEM private key ({exc})") from None
    alg_of(key)
    return key  # type: ignore[return-value]


def load_public_key(path: Path) -> PublicKey:
    """A public key from a PEM file (SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable PEM public key ({exc})") from None
    alg_of(key)
    return key  # type: ignore[return-value]


def public_key_from_der(der: bytes) -> PublicKey:
    """A public key from SubjectPublicKeyInfo DER; ValueError when it is not Ed25519 or P-256."""
    key = serialization.load_der_public_key(der)
    alg_of(key)
    return key  # type: ignore[return-value]


def write_private_key(path: Path, private_key: PrivateKey) -> None:
    """Write a private key readable by its owner only, never replacing an existing file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem(private_key))
