"""The setup page's browser: Debian's Chromium (through tests/browser.py's Playwright), trusting only
the gate's own certificate (pinned by its public key), at a phone's size."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, Page

from tests.browser import TIMEOUT_MS, launch_type

PHONE = {"width": 390, "height": 844}


def spki_pin(cert: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes."""
    public = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextmanager
def phone_page(browser: Browser, cert: Path) -> Iterator[Page]:
    """A page at a phone's screen size in a Chromium that trusts only `cert` (a flag of its own launch)."""
    pinned = launch_type(browser.browser_type, extra_args=(f"--ignore-certificate-errors-spki-list={spki_pin(cert)}",))
    try:
        context = pinned.new_context(viewport=PHONE, locale="zh-CN",
                                     bypass_csp=True)  # the page's CSP forbids eval, which wait_for_function uses
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
    finally:
        pinned.close()
