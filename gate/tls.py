"""The gate's own TLS certificate for its setup page (spec/setup.md).

Self-signed, made at provisioning (`scripts/provision.sh` runs `gate setup cert`) or on the setup
service's first start, and kept beside the device key as `setup-cert.pem` / `setup-key.pem`.
A technician compares its SHA-256 fingerprint, shown by `gate doctor` and on the gate's idle
screen, with what the phone's browser shows before typing the password.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "setup-cert.pem"
KEY_NAME = "setup-key.pem"
VALID_DAYS = 3650  # a gate stands for years; the technician checks the fingerprint, not a CA


def cert_paths(key_dir: str | Path) -> tuple[Path, Path]:
    """Where the certificate and its private key live: the folder of the device key."""
    folder = Path(key_dir)
    return folder / CERT_NAME, folder / KEY_NAME


def ensure_certificate(key_dir: str | Path, hostname: str | None = None) -> tuple[Path, Path]:
    """The certificate and key in `key_dir`, made (ECDSA P-256, self-signed) when not there yet."""
    cert_path, key_path = cert_paths(key_dir)
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    name = hostname or socket.gethostname() or "gate"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} setup page"),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "health-code gate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(name), x509.DNSName("localhost"),
           x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    Path(key_dir).mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def fingerprint(cert_path: str | Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it: AB:CD:...; OSError/ValueError if unreadable."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
