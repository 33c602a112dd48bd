"""The demo as a new user runs it, from a clean shell: `make demo`'s command checks every person's
decision and says nothing is wrong when nothing is; `gate demo --console` shows its one gate
online in the console, in its real state (venue, trust and status lists, the kiosk running, no
fault that is not real), keeps it heartbeating until Ctrl-C, and Ctrl-C ends it cleanly; its
screen stays connected and never shows a stale list while the demo runs."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gate.demo import PEOPLE
from tests.journeys.userkit import TRACEBACK, User

# the demo trust list's version, as committed (scripts/make-demo-credentials.py signs a newer one)
DEMO_TRUST_VERSION = str(json.loads((Path(__file__).resolve().parents[2] / "keys" / "demo" / "trust" /
                                     "trustlist.json").read_text())["version"])

STARTUP_S = 120.0  # the footage is made once (a few seconds), then decoded as fast as it goes


@dataclass
class Running:
    """A `gate demo` in the background: its stdout read line by line as it comes."""

    proc: subprocess.Popen[str]
    lines: "queue.Queue[str | None]" = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = STARTUP_S) -> re.Match[str]:
        """The first stdout line (from now on) matching `pattern`."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > end:
                raise AssertionError(f"no line matching {pattern!r}; stdout so far:\n{''.join(self.seen)}"
                                     f"\nstderr:\n{self.stderr_now()}")
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stderr_now(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def interrupt(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Ctrl-C, as a person presses it; (exit status, the rest of stdout, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        rest = []
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                break
            rest.append(line)
        return code, "".join(rest), self.proc.stderr.read() if self.proc.stderr else ""


@pytest.fixture
def demos() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


def start(user: User, demos: list[Running], *args: str) -> Running:
    running = Running(user.start("demo", *args))
    demos.append(running)
    return running


def sign_in(page, url: str, password: str) -> None:
    page.goto(url + "fleet")
    page.fill("input[name=username]", "demo-admin")
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for_url("**/console/fleet")


def test_make_demos_command_checks_every_person_and_reports_nothing_wrong(user: User) -> None:
    done = user.gate("demo", "--headless", timeout=STARTUP_S).ok()
    assert "every person got the decision the rules require" in done.stdout
    assert f"{len(PEOPLE)} scans, {len(PEOPLE)} records queued" in done.stdout
    complaints = [line for line in done.stderr.splitlines()
                  if line.startswith(("WARNING", "ERROR", "CRITICAL"))]
    assert complaints == [], done.stderr


def test_the_demo_console_shows_its_gate_online_in_its_real_state_until_ctrl_c(
        user: User, demos: list[Running], browser_page) -> None:
    demo = start(user, demos, "--headless", "--console", "--console-port", "0")
    demo.wait_for(r"every person got the decision the rules require")
    url = demo.wait_for(r"console: (http://127\.0\.0\.1:\d+/console/)\s+\((\d+) records synced").group(1)
    password = demo.wait_for(r"sign in as demo-admin with password (\S+)").group(1)

    page = browser_page(1400, 900, locale="en-US")
    sign_in(page, url, password)
    row = page.locator('#fleet tr[data-device="gate-demo-0001"]')
    assert row.is_visible()
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[1] == "● online"
    assert cells[2].split() == ["360102-012-north-gate", "Residential", "compound"]  # its venue, not "—"
    assert cells[5].split() == ["trust", DEMO_TRUST_VERSION, "status", "1"] and cells[6] == "0"  # its lists, bulletin
    assert cells[7] == "—" and row.locator(".fault").count() == 0  # no trust list, status list or
    # kiosk fault: the kiosk is running, and its lists are fresh
    assert page.locator("#fleet tr[data-device]").count() == 1

    # a bulletin for residential gates reaches this one
    page.goto(url + "bulletins")
    page.check('input[name="s0-venue_types"][value="residential"]')
    page.select_option('select[name="s0-itinerary_check"]', "off")
    page.click("#preview-button")
    heading = page.locator("#preview h2")
    heading.wait_for()
    assert heading.inner_text() == "Reaches 1 gate"
    assert page.locator('#preview tr.reached[data-device="gate-demo-0001"]').is_visible()

    assert demo.proc.poll() is None  # still up, idle and heartbeating, until Ctrl-C
    code, rest, stderr = demo.interrupt()
    assert code == 0, stderr
    assert TRACEBACK not in stderr + rest + "".join(demo.seen)
    assert [line for line in stderr.splitlines() if line.startswith(("ERROR", "CRITICAL"))] == []


def test_the_demo_screen_stays_connected_with_no_false_fault_until_ctrl_c(
        user: User, demos: list[Running], browser_page) -> None:
    # a few seconds of the footage in real time (a person is watching the screen), then the console
    demo = start(user, demos, "--console", "--seconds", "3", "--port", "0", "--console-port", "0")
    screen_url = demo.wait_for(r"screen: (http://127\.0\.0\.1:\d+/)").group(1)
    screen = browser_page(800, 480, locale="zh-CN")
    screen.goto(screen_url)
    screen.wait_for_function("['idle', 'decision'].includes(document.body.dataset.kind)")
    fault = screen.locator("#fault")
    assert not fault.is_visible()  # fresh lists: no "状态列表已过期 · Status list out of date"
    demo.wait_for(r"sign in as demo-admin with password (\S+)")

    # the footage is over; the gate stands idle, its camera on the empty gate, its screen connected
    screen.wait_for_function("document.body.dataset.kind === 'idle'")
    screen.wait_for_timeout(3500)  # longer than the page takes to say the camera shows nothing
    assert screen.evaluate("document.body.dataset.kind") == "idle"
    assert not screen.locator("#connecting-view").is_visible()
    assert not screen.get_by_text("正在连接闸机程序").is_visible()
    assert not screen.locator("#no-picture").is_visible() and screen.locator("#live").is_visible()
    assert not fault.is_visible()

    code, rest, stderr = demo.interrupt()
    assert code == 0, stderr
    assert TRACEBACK not in stderr + rest + "".join(demo.seen)
