"""Real Chromium for the tests and the screenshot scripts, driven by Playwright.

Playwright drives Debian's own Chromium (/usr/bin/chromium, put there by
scripts/install-system-deps.sh) through `executable_path`: `playwright install` and its downloaded
browser builds are never used. A pytest plugin (listed in tests/conftest.py) and a plain context
manager for scripts:

    def test_the_page(browser_page):          # a fresh page, 800x480 unless asked otherwise
        page = browser_page(width=1024, height=600)
        page.goto(url)
        page.wait_for_function("document.body.dataset.kind === 'idle'")

    with chromium() as browser:               # scripts/screenshots.py
        page = browser.new_page(viewport={"width": 800, "height": 480})

Where no Chromium is installed the browser tests are skipped with the reason, except under CI
(`CI` set), where that is a failure: CI's machine installs it, so a missing one is a broken setup.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Playwright, sync_playwright

# Chromium's flags for a quiet, offline, throw-away browser: no sandbox (tests run as root), no GPU,
# no calls home for updates, sync or components.
LAUNCH_ARGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)
CANDIDATES: tuple[str, ...] = ("chromium", "chromium-browser")
TIMEOUT_MS = 20_000  # any one wait: generous for two cores shared by many


def find_chromium() -> str | None:
    """The path of the system's Chromium (on PATH, or /usr/bin/chromium), or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def launch(playwright: Playwright, executable: str | None = None, extra_args: tuple[str, ...] = ()) -> Browser:
    """Start the system's Chromium headless under `playwright` (with `extra_args` after the usual ones)."""
    return launch_type(playwright.chromium, executable, extra_args)


def launch_type(browser_type: BrowserType, executable: str | None = None, extra_args: tuple[str, ...] = ()) -> Browser:
    """Start the system's Chromium through `browser_type` (e.g. a running browser's, for a second one
    with other flags in the same Playwright: a second sync Playwright cannot run in one thread)."""
    path = executable or find_chromium()
    if path is None:
        raise RuntimeError("no Chromium found: install Debian's chromium package")
    return browser_type.launch(executable_path=path, args=[*LAUNCH_ARGS, *extra_args], headless=True,
                               timeout=TIMEOUT_MS)


@contextmanager
def chromium(executable: str | None = None) -> Iterator[Browser]:
    """One headless Chromium for a script, closed (with Playwright's driver) on leaving."""
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, width: int = 800, height: int = 480, **options: object) -> Page:
    """A page in its own context (own cookies) of `width` x `height` CSS pixels at scale 1."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=1, **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


# -- the pytest plugin ------------------------------------------------------------------------

def _missing_chromium() -> None:
    message = "no chromium: install Debian's chromium package (scripts/install-system-deps.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole test session (per xdist worker)."""
    if find_chromium() is None:
        _missing_chromium()
    # Playwright's sync API keeps an asyncio loop in the test's thread, and Django refuses ORM
    # calls from a thread with a running loop. The test's own ORM calls (making users, checking
    # rows) are plain synchronous calls between Playwright's, so Django's guard is lifted here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as running:
        yield running


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A factory of fresh pages (each in its own context), all closed after the test."""
    contexts: list[BrowserContext] = []

    def make(width: int = 800, height: int = 480, **options: object) -> Page:
        page = new_page(browser, width, height, **options)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()
