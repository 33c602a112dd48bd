"""The gate's own TLS certificate for its setup page (spec/setup.md).

Self-signed, made at provisioning (`scripts/provision.sh` runs `gate setup cert`) or on the setup
service's first start, and kept beside the device key as `setup-cert.pem` / `setup-key.pem`.
A technician compares its SHA-256 fingerprint, shown by `gate doctor` and on the gate's idle
screen, with what the phone's browser shows before typing the password.

The certificate is an end entity (basicConstraints CA:FALSE, for TLS servers only): a technician
who trusts it trusts this one page, never anything else signed with its key. One made by an older
version with CA:TRUE is reported by the doctor and replaced by `gate setup cert --renew`.

`server_context(cert, key)` checks both files before a server listens: regular files only (a FIFO
would hang the start), a certificate and a key that parse and belong together; each problem is
one line (TLSFileError), never a traceback.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gate.errors import GateError

CERT_NAME = "setup-cert.pem"
KEY_NAME = "setup-key.pem"
VALID_DAYS = 3650  # a gate stands for years; the technician checks the fingerprint, not a CA
MAX_PEM_BYTES = 64 * 1024


class TLSFileError(GateError, ValueError):
    """The setup page's certificate or key cannot be used; str() says which and why in one line."""


def cert_paths(key_dir: str | Path) -> tuple[Path, Path]:
    """Where the certificate and its private key live: the folder of the device key."""
    folder = Path(key_dir)
    return folder / CERT_NAME, folder / KEY_NAME


def ensure_certificate(key_dir: str | Path, hostname: str | None = None) -> tuple[Path, Path]:
    """The certificate and key in `key_dir`, made (ECDSA P-256, self-signed) when neither is there
    yet. When either is there they are left as they are (a damaged one is for `server_context` to
    refuse and `gate setup cert --renew` to replace: the fingerprint a technician checked never
    changes behind their back)."""
    cert_path, key_path = cert_paths(key_dir)
    if os.path.lexists(cert_path) or os.path.lexists(key_path):
        return cert_path, key_path
    return make_certificate(key_dir, hostname)


def make_certificate(key_dir: str | Path, hostname: str | None = None) -> tuple[Path, Path]:
    """A new key and self-signed end-entity certificate in `key_dir`, replacing any there."""
    cert_path, key_path = cert_paths(key_dir)
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
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    Path(key_dir).mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # each file written whole beside itself, then moved in: never half a key, never a key and an
    # older certificate at once for long
    for path, data, mode in ((key_path, key_pem, 0o600),
                             (cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)):
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return cert_path, key_path


def is_ca(cert_path: str | Path) -> bool:
    """True when the certificate says CA:TRUE (made by an older version: renew it)."""
    cert = x509.load_pem_x509_certificate(_read_cert(cert_path))
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _read_cert(cert_path: str | Path) -> bytes:
    """A certificate file's bytes: FileNotFoundError when there is none yet, TLSFileError (a
    ValueError) when it is a FIFO or another special file (never waited on)."""
    path = Path(cert_path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{path}: no such file")
    return _read_regular(path, "certificate")


def _read_regular(path: Path, what: str) -> bytes:
    """The bytes of a regular file (never opened when it is a FIFO, a device or a folder)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TLSFileError(f"the setup page's {what} {path} is missing; run gate setup cert --renew") from None
    except OSError as exc:
        raise TLSFileError(f"the setup page's {what} {path} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TLSFileError(f"the setup page's {what} {path} is not a regular file")
    if info.st_size > MAX_PEM_BYTES:
        raise TLSFileError(f"the setup page's {what} {path} is too large to be a PEM file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the stat
                raise TLSFileError(f"the setup page's {what} {path} is not a regular file")
            return f.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise TLSFileError(f"the setup page's {what} {path} cannot be read: {exc.strerror or exc}") from None


def server_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2 and up) for the certificate and key, both checked first.
    Raises TLSFileError with one line for a missing, special, garbled or mismatched file."""
    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_pem, key_pem = _read_regular(cert_path, "certificate"), _read_regular(key_path, "key")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TLSFileError(f"the setup page's certificate {cert_path} is not a PEM certificate; "
                           "run gate setup cert --renew") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise TLSFileError(f"the setup page's key {key_path} is not an unencrypted PEM private key; "
                           "run gate setup cert --renew") from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            key.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise TLSFileError(f"the setup page's key {key_path} does not belong to its certificate {cert_path}; "
                           "run gate setup cert --renew")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        _load_checked(context, cert_pem, key_pem, cert_path, key_path)
    except (ssl.SSLError, OSError) as exc:
        raise TLSFileError(f"the setup page's certificate {cert_path} cannot be used: {exc}") from None
    return context


def _load_checked(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes, cert_path: Path, key_path: Path) -> None:
    """Load the very bytes checked above (from memory files where Linux has them), so a file
    swapped since cannot slip in or hang the start."""
    if not hasattr(os, "memfd_create"):
        context.load_cert_chain(str(cert_path), str(key_path))
        return
    fds = [os.memfd_create("setup-cert"), os.memfd_create("setup-key")]
    try:
        for fd, data in zip(fds, (cert_pem, key_pem)):
            os.write(fd, data)
        context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            os.close(fd)


def fingerprint(cert_path: str | Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it: AB:CD:...; OSError/ValueError if unreadable."""
    cert = x509.load_pem_x509_certificate(_read_cert(cert_path))
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
