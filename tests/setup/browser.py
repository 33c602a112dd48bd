"""A small Playwright fixture for the setup page's browser tests: Debian's Chromium, headless,
trusting only the gate's own certificate (pinned by its public key), at a phone's size.
(The console has its own; the lead folds the two into one.)"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def spki_pin(cert: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes."""
    public = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextmanager
def phone_page(cert: Path, user_data: Path) -> Iterator[object]:
    """A Playwright page at a phone's screen size that trusts only `cert`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(user_data), executable_path=CHROMIUM, headless=True,
            args=ARGS + [f"--ignore-certificate-errors-spki-list={spki_pin(cert)}"],
            viewport=PHONE, locale="zh-CN",
            bypass_csp=True)  # the page's CSP forbids eval, which the test's own wait_for_function uses
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
