"""The screen as a browser shows it: real Chromium (Playwright, tests/browser.py) on the real
server, updates pushed by SSE.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from gate.display import DisplayServer
from gate.policy import DECISIONS, message_for
from gate.vocabulary import decision_words
from tests.browser import new_page

REASONS = {
    "allow": ["code_valid", "green", "temperature_normal"],
    "deny": ["code_invalid", "expired"],
    "recheck": ["code_valid", "green", "temperature_abnormal"],
    "refer": ["code_valid", "green", "temperature_abnormal", "fever_confirmed"],
    "hold": ["code_valid", "itinerary_risk"],
    "manual": ["code_valid", "green", "temperature_unavailable"],
}
# the panel's colour per decision (display.css), and which ones blink for the attendant
COLOURS = {"allow": "rgb(18, 122, 54)", "deny": "rgb(183, 28, 28)", "refer": "rgb(183, 28, 28)",
           "hold": "rgb(183, 28, 28)", "recheck": "rgb(246, 196, 0)", "manual": "rgb(246, 196, 0)"}
BLINKS = {"refer", "hold", "manual"}


def decision_state(decision: str, temperature_c: float | None = 36.6,
                   name: str | None = "张*明") -> dict:
    zh, en = message_for(decision, tuple(REASONS[decision]), "metro")
    return {"kind": "decision", "decision": decision, "message_zh": zh, "message_en": en,
            "temperature_c": temperature_c, "name": name, "reasons": REASONS[decision],
            "at": "2022-04-01T08:30:00Z"}


@pytest.fixture(scope="module")
def screen() -> Iterator[DisplayServer]:
    server = DisplayServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(screen: DisplayServer, browser: Browser) -> Iterator[Page]:
    """One page on the screen for the module, as the kiosk's browser keeps one open."""
    opened = new_page(browser, 800, 480)
    opened.goto(screen.url)
    yield opened
    opened.context.close()


def show(screen: DisplayServer, page: Page, state: dict) -> None:
    """Push `state` and wait until the page has applied it."""
    screen.publish(state)
    seq = screen.app.snapshot()["seq"]
    page.wait_for_function(f"document.body.dataset.seq === '{seq}'")


def visible_text(page: Page) -> str:
    return str(page.evaluate("document.body.innerText"))


def test_the_page_connects_and_shows_the_idle_prompt(screen, page):
    show(screen, page, {"kind": "idle", "faults": []})
    assert page.evaluate("document.body.dataset.kind") == "idle"
    assert "请出示健康码" in visible_text(page)


@pytest.mark.parametrize("decision", DECISIONS)
def test_each_decision_appears_on_the_rendered_page(screen, page, decision):
    state = decision_state(decision)
    show(screen, page, state)
    text = visible_text(page)
    assert state["message_zh"] in text and state["message_en"] in text
    assert "36.6 °C" in text and "张*明" in text
    words = decision_words(decision)  # the headline comes from the server's vocabulary, not the page
    assert words.headline_zh in text and words.headline_en in text
    assert page.evaluate("document.getElementById('panel').className") == words.panel_class
    assert state["message_zh"] in page.content()
    assert page.evaluate("document.body.dataset.decision") == decision
    blinking = page.evaluate("document.getAnimations().length > 0")
    assert blinking == (decision in BLINKS)
    page.evaluate("document.getAnimations().forEach(a => a.pause()), true")
    page.evaluate("document.getAnimations().forEach(a => a.currentTime = 0), true")
    assert page.evaluate(
        "getComputedStyle(document.getElementById('panel')).backgroundColor") == COLOURS[decision]


def test_the_decision_text_arrives_by_the_stream_not_in_the_served_html(screen, page):
    state = decision_state("deny")
    show(screen, page, state)
    with urllib.request.urlopen(screen.url, timeout=5) as served:
        assert state["message_zh"] not in served.read().decode()
    assert state["message_zh"] in visible_text(page)


def test_no_reading_shows_a_dash_and_no_name_shows_nothing(screen, page):
    show(screen, page, decision_state("manual", temperature_c=None, name=None))
    assert page.evaluate("document.getElementById('temperature').textContent") == "— °C"
    assert page.evaluate("document.getElementById('name').textContent") == ""


def test_a_name_from_a_code_is_shown_as_text_never_as_markup(screen, page):
    hostile = "<img src=x onerror=\"document.body.dataset.pwned='1'\">"
    show(screen, page, decision_state("allow", name=hostile))
    assert page.evaluate("document.getElementById('name').textContent") == hostile
    assert page.evaluate("document.querySelectorAll('#name img').length") == 0
    assert page.evaluate("document.body.dataset.pwned || ''") == ""


def test_the_fault_banner_shows_and_clears(screen, page):
    show(screen, page, {"kind": "idle", "faults": ["clock_untrusted"]})
    assert page.evaluate("document.getElementById('fault').hidden") is False
    assert "时钟不可信 · Clock not trusted" in visible_text(page)
    assert "Hold your health code up" in visible_text(page)  # a flag, not a shut gate
    show(screen, page, {"kind": "fault", "faults": []})
    assert page.evaluate("document.getElementById('fault').hidden") is True


def test_a_fault_that_shuts_the_gate_says_so_instead_of_inviting_a_scan(screen, page):
    show(screen, page, {"kind": "idle", "faults": ["store_read_only"]})
    text = visible_text(page)
    assert "存储卡只读，闸机已关闭" in text and "The gate is shut: ask the attendant" in text
    assert "Hold your health code up" not in text
    show(screen, page, {"kind": "idle", "faults": []})
    assert "Hold your health code up" in visible_text(page)


def test_the_live_view_shows_the_newest_frame_while_idle(screen, page):
    show(screen, page, {"kind": "idle"})
    ok, data = cv2.imencode(".jpg", np.full((240, 320, 3), 90, np.uint8))
    screen.publish_frame(data.tobytes())
    page.wait_for_function("document.getElementById('live').naturalWidth === 320")
    page.wait_for_function("!document.body.classList.contains('no-picture')")


@pytest.mark.parametrize("size", [(800, 480), (1024, 600)])
def test_the_longest_message_with_faults_fits_pi_screens(screen, browser_page, size):
    width, height = size
    state = decision_state("hold")  # the itinerary message, the longest of the table
    state["faults"] = ["camera_lost", "thermometer_failing", "status_list_missing", "clock_untrusted"]
    sized = browser_page(width, height)
    sized.goto(screen.url)
    show(screen, sized, state)
    for part in ("message-en", "facts", "reasons"):
        bottom = sized.evaluate(f"document.getElementById('{part}').getBoundingClientRect().bottom")
        assert bottom <= height, f"{part} runs off a {width}x{height} screen"
    assert sized.evaluate("document.getElementById('panel').scrollHeight") <= \
        sized.evaluate("document.getElementById('panel').clientHeight")


def test_a_lost_kiosk_never_leaves_a_decision_on_the_screen(browser_page):
    server = DisplayServer(port=0).start()
    try:
        lone = browser_page()
        lone.goto(server.url)
        show(server, lone, decision_state("allow"))
        server.stop()
        lone.wait_for_function("document.body.dataset.kind === 'connecting'")
        assert lone.evaluate("document.getElementById('decision-view').hidden") is True
        assert "正在连接闸机程序" in visible_text(lone)
        server.start()  # the page reconnects by itself and shows the state again
        lone.wait_for_function("document.body.dataset.decision === 'allow'")
    finally:
        server.stop()


def test_the_idle_screen_shows_the_setup_pages_certificate_fingerprint(screen, page):
    fingerprint = ":".join(["AB"] * 32)
    show(screen, page, {"kind": "idle", "setup_fingerprint": fingerprint})
    assert page.evaluate("document.getElementById('setup-fingerprint').hidden") is False
    assert fingerprint in visible_text(page)
    show(screen, page, {"kind": "idle"})
    assert page.evaluate("document.getElementById('setup-fingerprint').hidden") is True


def test_the_idle_screen_shows_the_bulletin_in_force_and_its_note(screen, page):
    note = "全国无中高风险地区，停止查验行程 · No medium or high risk areas: itinerary checks off"
    show(screen, page, {"kind": "idle", "bulletin": {"version": 12, "effective_at": 1764003600, "note": note}})
    assert page.evaluate("document.getElementById('bulletin').hidden") is False
    assert "v12" in visible_text(page) and note in visible_text(page)
    show(screen, page, {"kind": "idle", "bulletin": None})
    assert page.evaluate("document.getElementById('bulletin').hidden") is True


def test_a_recovered_store_says_on_the_banner_how_many_records_came_back(screen, page):
    show(screen, page, {"kind": "idle", "faults": ["store_corrupt"], "store_recovered": 85})
    text = visible_text(page)
    assert "记录存储损坏" in text and "85 records recovered" in text and "已恢复 85 条记录" in text
    show(screen, page, {"kind": "idle", "faults": []})
