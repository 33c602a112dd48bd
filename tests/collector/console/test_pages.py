"""The console in real Chromium (Playwright, tests/browser.py) against a real collector on
loopback: sign in, watch an alert from a gate arrive without reloading and acknowledge it, run a
trace and download its CSV."""

from __future__ import annotations

import csv
import io

from gate.collector import users
from gate.collector.models import Alert, AuditEntry
from tests.collector.console.conftest import PASSWORD, alert, scan, upload


def signed_in(browser_page, console, role: str, name: str):
    users.add_user(name, role, PASSWORD)
    page = browser_page(1280, 800, locale="zh-CN")  # the browser asks for Chinese
    page.goto(console.url + "/console/alerts")
    assert "/console/login" in page.url  # no session: the login page first
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/console/alerts")
    return page


def test_a_wrong_password_keeps_the_officer_on_the_login_page(console, browser_page):
    users.add_user("duty", "viewer", PASSWORD)
    page = browser_page(1280, 800, locale="zh-CN")  # the browser asks for Chinese
    page.goto(console.url + "/console/login")
    page.fill("input[name=username]", "duty")
    page.fill("input[name=password]", "not the password")
    page.click("#sign-in")
    assert "用户名或密码错误" in page.inner_text(".error")


def test_an_alert_arrives_without_reloading_and_is_acknowledged(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    assert page.locator("#alerts tr[data-record]").count() == 0
    record = scan(status="red", decision="hold", reasons=["code_valid", "red"],
                  temperature_c=36.9, venue="360102-east-gate")
    alert(console, record)  # a gate sends it through the device API
    row = page.locator(f'#alerts tr[data-record="{record["id"]}"]')
    row.wait_for()
    text = row.inner_text()
    assert "请原地等候" in text and "code_valid red" in text and "36.9 °C" in text and "360102-east-gate" in text
    row.locator("input[name=note]").fill("township office called")
    row.locator("button").click()
    page.locator(f'#alerts tr[data-record="{record["id"]}"] .ack').wait_for()
    assert "duty" in page.locator(f'#alerts tr[data-record="{record["id"]}"] .ack').inner_text()
    kept = Alert.objects.get(pk=record["id"])
    assert kept.acknowledged_by.username == "duty" and kept.ack_note == "township office called"
    assert AuditEntry.objects.filter(action="alert.acknowledge", username="duty").count() == 1


def test_a_trace_runs_and_its_csv_downloads(console, browser_page):
    visit = scan(sub="00aa", venue="v-east", minutes_ago=100)
    contact = scan(sub="00bb", venue="v-east", minutes_ago=95)
    upload(console, [visit, contact, scan(sub="00cc", venue="v-west", minutes_ago=100)])
    page = signed_in(browser_page, console, "tracer", "liu")
    page.click("text=流调溯源")
    page.fill("input[name=sub]", "00AA")
    page.click("#run-trace")
    page.locator("#timeline").wait_for()
    assert page.locator("#timeline li[data-record]").count() == 1
    assert page.locator('section.venue[data-venue="v-east"] tr[data-record]').count() == 1
    with page.expect_download() as waiting:
        page.click("#export")
    download = waiting.value
    assert download.suggested_filename == "trace-00aa.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert [(r["kind"], r["record_id"]) for r in rows] == [("visit", visit["id"]),
                                                           ("contact", contact["id"])]
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["trace", "trace.export"]


def test_the_language_switch_turns_the_page_english(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.click("button[value=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("h1").first.inner_text().startswith("Alerts")


def test_a_new_alert_sounds_counts_in_the_title_and_notifies_when_allowed(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.context.grant_permissions(["notifications"], origin=console.url)
    page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    assert page.title() == "预警 · 闸机管理平台"  # nothing open
    sound = page.locator("#sound")
    assert sound.inner_text() == "声音提醒：关" and sound.get_attribute("aria-pressed") == "false"
    sound.click()  # the click browsers require before a page may make a sound
    assert sound.inner_text() == "声音提醒：开"
    page.locator("#notify").click()
    page.wait_for_function("document.getElementById('notify').getAttribute('aria-pressed') === 'true'")
    alert(console, scan(status="red", decision="hold", reasons=["code_valid", "red"]))
    page.wait_for_function("document.title.startsWith('(1) ')")
    page.wait_for_function("Number(document.body.dataset.sounded || 0) === 1")
    page.wait_for_function("Number(document.body.dataset.notified || 0) === 1")
    page.reload()  # the switch is remembered in this browser
    assert page.locator("#sound").inner_text() == "声音提醒：开"
    page.wait_for_function("document.title.startsWith('(1) ')")
    assert page.evaluate("Number(document.body.dataset.sounded || 0)") == 0  # nothing new: silence


def test_without_the_switch_a_new_alert_makes_no_sound(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    alert(console, scan(status="red", decision="hold", reasons=["code_valid", "red"]))
    page.wait_for_function("document.title.startsWith('(1) ')")
    assert page.evaluate("Number(document.body.dataset.announced || 0)") == 1
    assert page.evaluate("Number(document.body.dataset.sounded || 0)") == 0


def test_a_lost_connection_is_said_on_the_page_and_clears_when_it_returns(console, browser_page):
    page = signed_in(browser_page, console, "viewer", "duty")
    page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    lost = page.locator("#connection-lost")
    assert not lost.is_visible()
    page.route("**/console/api/alerts*", lambda route: route.abort())
    lost.wait_for(state="visible")
    assert "连接已断开" in lost.inner_text()
    page.unroute("**/console/api/alerts*")
    lost.wait_for(state="hidden")
