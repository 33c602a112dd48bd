"""Headless Chromium driven over its DevTools pipe: to look at the screen as a browser shows it.

For the screen's browser test and `scripts/screenshots.py`. No driver and no extra package:
Chromium's `--remote-debugging-pipe` speaks the DevTools protocol as NUL-terminated JSON on its
file descriptors 3 (commands in) and 4 (answers and events out). `--dump-dom` cannot be used for
this page: its server-sent events stream never finishes loading, so a virtual-time budget never
runs out and a plain dump is taken before the first update arrives.

    with HeadlessChromium(width=800, height=480) as browser:
        browser.open("http://127.0.0.1:8080/")
        browser.wait_for("document.body.dataset.kind === 'idle'")
        png = browser.screenshot()
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any

from gate.errors import GateError

CANDIDATES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "chrome")

FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--no-default-browser-check",
)


class BrowserError(GateError, RuntimeError):
    """Chromium could not be started, went away, or did not answer in time."""


def find_chromium() -> str | None:
    """The path of a Chromium-like browser on PATH (or /usr/bin/chromium), or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


class HeadlessChromium:
    """One headless Chromium with one page of `width` x `height` CSS pixels."""

    def __init__(self, binary: str | None = None, width: int = 800, height: int = 480,
                 timeout_s: float = 20.0) -> None:
        self.binary = binary or find_chromium()
        self.width = width
        self.height = height
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._to_browser = -1
        self._from_browser = -1
        self._buffer = b""
        self._next_id = 0
        self._session: str | None = None

    # -- life -------------------------------------------------------------------------------

    def start(self) -> "HeadlessChromium":
        if self.binary is None:
            raise BrowserError("no Chromium found: install Debian's chromium package")
        self._profile = tempfile.TemporaryDirectory(prefix="gate-chromium-")
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()
        args = [self.binary, *FLAGS, f"--user-data-dir={self._profile.name}",
                f"--window-size={self.width},{self.height}", "--remote-debugging-pipe",
                "about:blank"]
        # the pipe must be fds 3 and 4 in Chromium: bash's redirections put them there without
        # a preexec_fn (not safe in a process with threads, as the display server's)
        script = (f'exec "$@" 3<&{commands_r} 4>&{answers_w} '
                  f'{commands_r}<&- {answers_w}>&-')
        try:
            self._proc = subprocess.Popen(
                ["bash", "-c", script, "chromium", *args], pass_fds=(commands_r, answers_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(commands_r)
            os.close(answers_w)
        self._to_browser, self._from_browser = commands_w, answers_r
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget",
                                  {"targetId": target, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False}, session=True)
        self.call("Page.enable", session=True)
        return self

    def close(self) -> None:
        """End Chromium (politely, then by force) and remove its profile; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                self.call("Browser.close", timeout_s=3.0, proc=proc)
            except (BrowserError, OSError):
                pass  # it is being ended below either way
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5.0)
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        self._to_browser = self._from_browser = -1
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def __enter__(self) -> "HeadlessChromium":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what tests do ----------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Navigate the page to `url` and wait for its load event."""
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able values only)."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"the page raised: {answer['exceptionDetails'].get('text')}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float | None = None) -> Any:
        """Evaluate `expression` until it is truthy; its value, or BrowserError after the timeout."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def dom(self) -> str:
        """The page's DOM now, as HTML (what --dump-dom prints)."""
        return str(self.evaluate("document.documentElement.outerHTML"))

    def screenshot(self) -> bytes:
        """A PNG of the page's viewport."""
        answer = self.call("Page.captureScreenshot", {"format": "png"}, session=True)
        return base64.b64decode(answer["data"])

    # -- the protocol -----------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False,
             timeout_s: float | None = None, proc: subprocess.Popen[bytes] | None = None
             ) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are dropped)."""
        if (proc or self._proc) is None:
            raise BrowserError("the browser is not running")
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data):]
        except BrokenPipeError as exc:
            raise BrowserError("the browser went away") from exc
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") != self._next_id:
                continue
            if "error" in answer:
                raise BrowserError(f"{method}: {answer['error'].get('message')}")
            return dict(answer.get("result", {}))

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser went away")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))
