"""The setup page in real Chromium (Playwright) on a phone-sized screen, over real HTTPS, with a
real kiosk behind it: sign in, change the venue type, see the live view, calibrate.

Set GATE_SCREENSHOTS=docs/screenshots to save the README's pictures (setup-*.png)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gate.config import load_config
from tests.setup.browser import phone_page
from tests.setup.kit import PASSWORD, blank_frame, code_frame

SHOTS = os.environ.get("GATE_SCREENSHOTS")


def shot(page, name: str, **kw) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"setup-{name}.png"), **kw)


class Feeder:
    """Hands the kiosk a frame every 0.1 s, as a camera would, until stopped."""

    def __init__(self, gate) -> None:
        self.gate = gate
        self.image = blank_frame()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self.gate.source.feed(self.image)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def test_a_technician_signs_in_sets_the_venue_sees_the_camera_and_calibrates(setup_server, kiosk, gate_file,
                                                                             tmp_path, pki, browser):
    base, cert, _ = setup_server
    feeder = Feeder(kiosk)
    try:
        with phone_page(browser, cert) as page:
            page.goto(base + "/setup/")
            page.wait_for_selector("#login-form")
            for section in ("#app", "#settings", "#camera", "#thermo", "#service", "#tests", "#doctor", "#logout"):
                assert not page.locator(section).is_visible(), f"{section} shows before sign-in"
            shot(page, "signin")
            page.fill("#password", "wrong password")
            page.click("#login-form button")
            page.wait_for_function("document.getElementById('login-error').textContent.includes('wrong password')")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            page.wait_for_selector("#app", state="visible")

            # the venue: residential -> metro, saved and in force in the running kiosk
            select = page.locator("#f-venue\\.type")
            select.wait_for()
            assert select.input_value() == "residential"
            # an I2C address as written on the part, booleans in words (issue 20)
            assert page.locator("#f-temperature\\.i2c_address").input_value() == "0x5A"
            assert page.locator("#f-temperature\\.required option").all_text_contents() == ["是 · yes", "否 · no"]
            select.select_option("metro")
            page.click("#save")
            page.wait_for_function("document.getElementById('config-result').textContent.includes('Saved and in force')")
            assert load_config(gate_file).venue.type == "metro"
            assert kiosk.kiosk.pipeline.config.venue.type == "metro"
            assert "# the compound this gate serves" in gate_file.read_text()

            # a wrong value: every problem listed, the file untouched
            before = gate_file.read_bytes()
            page.fill("#f-temperature\\.fever_c", "45")
            page.fill("#f-temperature\\.recheck_window_s", "0")
            page.click("#save")
            page.wait_for_function("document.querySelectorAll('#config-errors li').length >= 2")
            errors = page.locator("#config-errors li").all_text_contents()
            assert any("[temperature] fever_c = 45 is not allowed" in e for e in errors)
            assert any("[temperature] recheck_window_s = 0 is not allowed" in e for e in errors)
            assert gate_file.read_bytes() == before
            page.reload()
            page.wait_for_selector("#app", state="visible")  # the session survives a reload

            # the thermometer: live reading, then calibration against a reference of 36.8 °C
            page.wait_for_function("document.getElementById('t-object').textContent.startsWith('36.')")  # 36.2, as the bus rounds it
            page.fill("#reference", "36.81")
            page.click("#calibrate-form button")
            page.wait_for_function("document.getElementById('calibrate-result').textContent.includes('Offset set to 0.6')")
            assert load_config(gate_file).temperature.offset_c == pytest.approx(0.6, abs=0.02)
            page.wait_for_function("document.getElementById('t-final').textContent.includes('36.8')")

            # the live view: a code held up is outlined and its text listed; frame and decode rates
            text = pki.code("green")
            feeder.image = code_frame(text)
            page.wait_for_function("document.getElementById('view').naturalWidth > 0")
            page.wait_for_function(f"[...document.querySelectorAll('#codes li .text')].some(s => s.textContent === {text!r})",
                                   timeout=20000)
            assert page.locator("#codes li .format", has_text="JKM1").first.is_visible()  # the code's format
            page.wait_for_function("document.getElementById('decode-rate').textContent.endsWith('%')")
            page.wait_for_function("parseFloat(document.getElementById('camera-fps').textContent) > 0")
            page.wait_for_function("[...document.querySelectorAll('#doctor-list li')].length > 3", timeout=30000)
            shot(page, "page", full_page=True)
            page.locator("#camera").scroll_into_view_if_needed()
            shot(page, "camera")
    finally:
        feeder.close()


def test_the_page_says_when_no_kiosk_is_running(setup_server, tmp_path, browser):
    base, cert, _ = setup_server
    with phone_page(browser, cert) as page:
        page.goto(base + "/setup/")
        page.fill("#password", PASSWORD)
        page.click("#login-form button")
        page.wait_for_function("document.getElementById('kiosk-state').textContent.includes('Gate not running')")
        page.wait_for_function("document.getElementById('view-message').textContent.includes('no kiosk is running')")
        shot(page, "no-kiosk")
