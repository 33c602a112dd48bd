"""Every page of the console, for every role, in Chinese in real Chromium: no visible text that is
not from the catalogue (officekit.untranslated: ids, codes, numbers, units and times excepted).
The same check is shown to catch English on a page (it is not a check that cannot fail)."""

from __future__ import annotations

import re
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.codes import keys as keylib
from gate.collector import devices, users
from gate.directives.keys import directive_entry
from tests.collector.console.officekit import (PASSWORD, District, page_untranslated, sign_in,
                                               untranslated)


def test_the_check_finds_english_and_lets_codes_numbers_and_times_through():
    assert untranslated(["Acknowledge", "trust None, status None", "闸机 metro"]) == \
        ["Acknowledge", "trust None, status None", "闸机 metro"]
    assert untranslated(["gate-nc-0001", "36.9 °C", "2026-12-07 08:35:10", "CN-JX/00aa",
                         "code_valid", "导出 CSV", "第 2 页，共 3 页", "信任 7", "0x5A"]) == []


@pytest.fixture
def district(collector_factory, lists_dir, sign_list, tmp_path):
    key = Ed25519PrivateKey.generate()
    keylib.write_private_key(tmp_path / "directive.key", key)
    now = int(time.time())
    sign_list(lists_dir / "trustlist.json",
              {"version": 7, "issued_at": now - 3600, "expires_at": now + 86400 * 30, "keys": [],
               "revoked_kids": [],
               "directive_keys": [directive_entry(key.public_key(), now - 86400, now + 86400 * 365)]})
    collector = collector_factory(directive_key=tmp_path / "directive.key")
    with collector.app.activate():
        district = District(collector.url, devices.add_device)
        district.heartbeats()
        district.seen = district.scans()
        district.held = district.alert()
        district.handled = district.alert(minutes_ago=30, device_id="gate-nc-0001")
        district.collector = collector
        for role in ("viewer", "tracer", "admin"):
            users.add_user(f"{role}-li", role, PASSWORD)
        yield district


def visit(page, url: str | None, found: dict[str, list[str]]) -> None:
    """Open `url` (None: the page as it stands, e.g. a confirmation answered to a POST) and note
    what it shows untranslated."""
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("domcontentloaded")
    if page.locator("#alerts").count():
        page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
    bad = page_untranslated(page)
    if bad:
        found[page.url] = bad


def test_no_chinese_page_shows_untranslated_text_for_any_role(district, browser_page):
    base = district.collector.url
    found: dict[str, list[str]] = {}
    anonymous = browser_page(1280, 900, locale="zh-CN")
    visit(anonymous, base + "/console/login", found)

    viewer = sign_in(browser_page, base, "viewer-li")
    for path in ("/console/fleet", "/console/fleet?state=behind", "/console/alerts",
                 "/console/records", "/console/nothing-here"):
        visit(viewer, base + path, found)
    viewer.goto(base + "/console/alerts")
    row = viewer.locator(f'#alerts tr[data-record="{district.handled["id"]}"]')
    row.locator("input[name=note]").fill("已电话通知社区")
    row.locator("button").click()
    viewer.locator(f'#alerts tr[data-record="{district.handled["id"]}"] .ack').wait_for()
    visit(viewer, base + "/console/alerts", found)

    tracer = sign_in(browser_page, base, "tracer-li")
    traced = district.seen["traced"]
    for path in ("/console/records?venue=", "/console/records?venue=&sort=temperature",
                 f"/console/records/{district.held['id']}",
                 f"/console/records/{district.seen['first'][0]['id']}",
                 f"/console/trace?sub={traced}&issuer=CN-JX",
                 "/console/records?start=0001-01-01", "/console/trace.csv?sub=00aa&end=3000-01-01",
                 "/console/devices"):
        visit(tracer, base + path, found)
    tracer.goto(base + f"/console/trace?sub={traced}&issuer=CN-JX")
    tracer.locator(f'#people tr[data-sub="{district.seen["near"]}"] a.trace-person').click()
    tracer.locator("#chain").wait_for()
    visit(tracer, tracer.url, found)

    admin = sign_in(browser_page, base, "admin-li")
    for path in ("/console/devices", "/console/users", "/console/bulletins", "/console/venue-cards"):
        visit(admin, base + path, found)
    admin.goto(base + "/console/devices")
    admin.locator('tr[data-device="gate-nc-0003"] button.disable').click()
    admin.locator("#confirm").wait_for()
    visit(admin, None, found)
    admin.goto(base + "/console/users")
    admin.locator('tr[data-user="viewer-li"] select[name=role]').select_option("tracer")
    admin.locator('tr[data-user="viewer-li"] .role-form button').click()
    admin.locator("#confirm").wait_for()
    visit(admin, None, found)
    admin.locator("#confirm-button").click()
    admin.goto(base + "/console/bulletins")
    admin.check('input[name="s0-venue_types"][value="metro"]')
    admin.select_option('select[name="s0-strict_clock"]', "on")
    admin.fill('input[name="s1-fever_c"]', "37.5")
    admin.fill("textarea[name=note]", "地铁站严格校时")
    admin.click("#preview-button")
    admin.locator("#preview").wait_for()
    assert not page_untranslated(admin), page_untranslated(admin)
    admin.click("#publish-button")
    admin.locator("#confirm").wait_for()
    visit(admin, None, found)
    admin.click("#confirm-button")
    admin.wait_for_url("**/console/bulletins?published=1")
    visit(admin, admin.url, found)
    admin.fill('input[name="s0-fever_c"]', "45")
    admin.click("#preview-button")
    admin.locator(".error").first.wait_for()
    visit(admin, None, found)
    assert "闸机只接受 35.0 至 42.0 °C 的发热阈值" in admin.content()
    visit(admin, base + "/console/audit", found)
    text = admin.locator("#audit").inner_text()
    assert "发布了通告" in text and "更改了角色" in text and not re.search(r"\{|\"", text)
    assert "从值班员" not in text and "原角色" in text
    visit(admin, base + "/console/audit?action=bulletin", found)
    assert found == {}, found
