"""The setup page's certificate (gate/tls.py): an end entity, and checked before a server uses it."""

from __future__ import annotations

import datetime
import os
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gate.tls import TLSFileError, cert_paths, ensure_certificate, fingerprint, is_ca, make_certificate, server_context


def old_ca_certificate(folder):
    """A certificate as the project's older versions made it: self-signed with CA:TRUE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gate setup page")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = cert_paths(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def test_the_certificate_is_an_end_entity_for_tls_servers_only(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path, hostname="localhost")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False and not is_ca(cert_path)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is False
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert key_path.stat().st_mode & 0o077 == 0
    server_context(cert_path, key_path)  # a good pair loads


def test_an_old_ca_certificate_is_recognised_and_renewing_replaces_it(tmp_path):
    cert_path, _ = old_ca_certificate(tmp_path)
    before = fingerprint(cert_path)
    assert is_ca(cert_path)
    assert ensure_certificate(tmp_path)[0] == cert_path and fingerprint(cert_path) == before  # never silently
    make_certificate(tmp_path, hostname="localhost")
    assert not is_ca(cert_path) and fingerprint(cert_path) != before


def test_a_fifo_as_the_key_is_refused_at_once_not_waited_on(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path, hostname="localhost")
    key_path.unlink()
    os.mkfifo(key_path)
    done: list[BaseException] = []
    checker = threading.Thread(target=lambda: done.append(pytest.raises(TLSFileError, server_context, cert_path,
                                                                        key_path).value), daemon=True)
    checker.start()
    checker.join(5)
    assert done and str(done[0]) == f"the setup page's key {key_path} is not a regular file"


@pytest.mark.parametrize("which, text, says", [
    ("cert", b"not a certificate\n", "is not a PEM certificate"),
    ("key", b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n", "is not an unencrypted PEM private key"),
    ("key", b"", "is not an unencrypted PEM private key"),
])
def test_a_garbled_file_is_one_line_naming_it(tmp_path, which, text, says):
    cert_path, key_path = ensure_certificate(tmp_path, hostname="localhost")
    (cert_path if which == "cert" else key_path).write_bytes(text)
    with pytest.raises(TLSFileError) as refused:
        server_context(cert_path, key_path)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    assert "gate setup cert --renew" in str(refused.value)


def test_a_key_of_another_certificate_is_refused(tmp_path):
    cert_path, _ = ensure_certificate(tmp_path / "a", hostname="localhost")
    _, other_key = make_certificate(tmp_path / "b", hostname="localhost")
    with pytest.raises(TLSFileError, match="does not belong to its certificate"):
        server_context(cert_path, other_key)


def test_missing_files_and_folders_are_one_line(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path, hostname="localhost")
    with pytest.raises(TLSFileError, match="is missing"):
        server_context(tmp_path / "nowhere.pem", key_path)
    with pytest.raises(TLSFileError, match="is not a regular file"):
        server_context(tmp_path, key_path)


def test_a_fifo_as_the_certificate_is_refused_by_the_fingerprint_too(tmp_path):
    """The kiosk's idle screen and the doctor read the fingerprint: a FIFO must not hang them."""
    cert_path, _ = cert_paths(tmp_path)
    os.mkfifo(cert_path)
    with pytest.raises(ValueError, match="is not a regular file"):
        fingerprint(cert_path)
    with pytest.raises(FileNotFoundError):
        fingerprint(tmp_path / "none.pem")
