"""A city's officers at the console, as they work (issue 20), in both languages: the collector set
up with the `gate` command in a clean shell (keys, trust list, gates, people, `gate collector
serve`), gates sending through the device API, and each officer in real Chromium asserting what
they see.

- the duty officer (viewer): switches the sound on, an alert arrives (title count, the row in
  words), acknowledges it with a note;
- the tracer: searches records, opens one, traces the person, follows a contact (second degree,
  the chain shown), downloads the CSV (local time with its offset);
- the administrator: publishes a bulletin after its confirmation, disables a gate after its
  confirmation (the gate is then refused), changes a role after its confirmation.
"""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from gate.codes import keys as keylib
from tests.collector.console.officekit import PASSWORD, District, sign_in
from tests.journeys.userkit import User

WORDS = {
    "zh-CN": {"alerts": "预警", "sound_on": "声音提醒：开", "hold": "请原地等候", "metro": "地铁",
              "handled": "已电话通知社区", "people": "2 名密接人员", "steps": "距第一人 1 步",
              "apart": "4 分 30 秒", "concerns": "涉及 1 台闸机。", "published": "已发布",
              "disabled": "停用", "role_from": "从“值班员”改为“流调员”", "yellow": "黄码",
              "tracer": "流调员"},
    "en-US": {"alerts": "Alerts", "sound_on": "Sound on", "hold": "WAIT HERE", "metro": "metro",
              "handled": "called the community office", "people": "2 people in contact",
              "steps": "1 step from the first person", "apart": "4 min 30 s",
              "concerns": "This concerns 1 gate.", "published": "published",
              "disabled": "disabled", "role_from": "From duty officer (viewer) to tracer",
              "yellow": "yellow code", "tracer": "tracer"},
}
LANGUAGES = list(WORDS)
PEOPLE = (("duty", "viewer"), ("liu", "tracer"), ("chief", "admin"), ("zhao", "viewer"))


def register(db_url: str, folder: Path) -> None:
    """The gates and the people, written to the collector's database as `gate collector add-device`
    and `add-user` do (through the same functions). On this branch those commands fail in a clean
    shell (Django is not set up before the models are imported: the CLI bootstrap of issue 19,
    mended on another branch), so the journey calls them in-process; the rest is the CLI."""
    from gate.collector import devices, django_db, users
    from gate.devicesig import load_public_key, public_key_b64

    alias = django_db.database_alias(db_url)
    try:
        with django_db.activate(alias):
            for device_id, *_ in District.GATES:
                key = load_public_key((folder / f"{device_id}.pem").read_bytes())
                devices.add_device(device_id, public_key_b64(key))
            for name, role in PEOPLE:
                users.add_user(name, role, PASSWORD)
    finally:
        django_db.close_alias(alias)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class City:
    """The collector a city set up with the `gate` command, and its gates."""

    url: str
    district: District
    folder: Path


@pytest.fixture
def city(user: User) -> Iterator[City]:
    db = "sqlite:///collector.db"
    db_path = f"sqlite:///{user.cwd / 'collector.db'}"
    for kind, name in (("anchor", "anchor"), ("issuer", "jx"), ("directive", "directive")):
        user.gate("keys", "new", kind, "--out", f"{name}.key").ok()
    user.gate("keys", "trustlist", "--anchor", "anchor.key", "--out", "lists/trustlist.json",
              "--version", "7", "--issuer", "CN-JX=jx.pem", "--directive", "directive.pem").ok()
    keys = {}
    for device_id, *_ in District.GATES:
        user.gate("keys", "new", "device", "--out", f"{device_id}.key").ok()
        keys[device_id] = keylib.load_private_key(user.cwd / f"{device_id}.key")
    register(db_path, user.cwd)
    port = free_port()
    server = user.start("collector", "serve", "--db", db, "--lists", "lists", "--port", str(port),
                        "--directive-key", "directive.key")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "gate collector serve did not answer"
            time.sleep(0.2)
        district = District(url, keys=keys)
        district.heartbeats()
        yield City(url, district, user.cwd)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_duty_officer_hears_sees_and_acknowledges_a_new_alert(city: City, browser_page: Any):
    for locale in LANGUAGES:
        w = WORDS[locale]
        page = sign_in(browser_page, city.url, "duty", locale=locale, path="/console/alerts")
        page.context.grant_permissions(["notifications"], origin=city.url)
        page.wait_for_function("Number(document.body.dataset.polled || 0) >= 1")
        assert page.locator("h1").inner_text().startswith(w["alerts"])
        page.locator("#sound").click()
        assert page.locator("#sound").inner_text() == w["sound_on"]
        sent = city.district.alert()
        row = page.locator(f'#alerts tr[data-record="{sent["id"]}"]')
        row.wait_for()
        page.wait_for_function("document.title.startsWith('(1) ')")
        page.wait_for_function("Number(document.body.dataset.sounded || 0) >= 1")
        assert w["hold"] in row.inner_text() and "360102-metro-bayi" in row.inner_text()
        row.locator("input[name=note]").fill(w["handled"])
        row.locator("button").click()
        page.locator(f'#alerts tr[data-record="{sent["id"]}"] .ack').wait_for()
        page.wait_for_function("!document.title.startsWith('(')")
        assert w["handled"] in page.locator(f'#alerts tr[data-record="{sent["id"]}"]').inner_text()
        page.click("header nav a[href='/console/fleet']")
        page.locator("#fleet").wait_for()
        assert w["metro"] in page.locator('#fleet tr[data-device="gate-nc-0002"]').inner_text()
        page.context.close()


def test_the_tracer_finds_a_record_traces_the_person_and_follows_a_contact(city: City,
                                                                           browser_page: Any):
    seen = city.district.scans()
    for locale in LANGUAGES:
        w = WORDS[locale]
        page = sign_in(browser_page, city.url, "liu", locale=locale, path="/console/records")
        page.fill("input[name=venue]", "360102-012-north-gate")
        page.click("#search button[type=submit]")
        page.locator("#records").wait_for()
        first = seen["first"][0]
        page.locator(f'#records tr[data-record="{first["id"]}"] a.detail').click()
        page.locator("#record").wait_for()
        assert "360102-012-north-gate" in page.locator("#record").inner_text()
        page.click("#trace-person")
        page.locator("#people").wait_for()
        assert w["people"] in page.locator("#summary").inner_text()
        near = page.locator(f'#people tr[data-sub="{seen["near"]}"]')
        assert w["apart"] in near.inner_text()
        yellow = page.locator(f'#people tr[data-sub="{"00cc" * 4}"]')
        assert w["yellow"] in yellow.inner_text()
        near.locator("a.trace-person").click()
        page.locator("#chain").wait_for()
        chain = page.locator("#chain")
        assert seen["traced"] in chain.inner_text() and seen["near"] in chain.inner_text()
        assert w["steps"] in chain.inner_text()
        assert page.locator(f'#people tr[data-sub="{seen["far"]}"]').is_visible()  # second degree
        with page.expect_download() as waiting:
            page.click("#export")
        text = open(waiting.value.path(), encoding="utf-8-sig").read()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and all(r["scanned_at"].endswith("+08:00") for r in rows)
        assert {r["sub"] for r in rows if r["kind"] == "contact"} >= {seen["far"]}
        page.context.close()


def test_the_administrator_confirms_a_bulletin_a_disabled_gate_and_a_role(city: City,
                                                                          browser_page: Any):
    for n, locale in enumerate(LANGUAGES):
        w = WORDS[locale]
        page = sign_in(browser_page, city.url, "chief", locale=locale, path="/console/bulletins")
        page.check('input[name="s0-venue_types"][value="metro"]')
        page.select_option('select[name="s0-strict_clock"]', "on")
        page.click("#publish-button")
        page.locator("#confirm").wait_for()
        assert w["concerns"] in page.locator("#confirm").inner_text()
        assert not (city.folder / "lists" / "bulletin.json").exists() or n > 0
        page.click("#confirm-button")
        page.wait_for_url("**/console/bulletins?published=*")
        assert page.locator("#published").is_visible()
        assert (city.folder / "lists" / "bulletin.json").exists()

        gate = ("gate-nc-0003", "gate-nc-0001")[n]
        page.goto(city.url + "/console/devices")
        page.locator(f'tr[data-device="{gate}"] button.disable').click()
        page.locator("#confirm").wait_for()
        assert gate in page.locator("#confirm h1").inner_text()
        assert w["concerns"] in page.locator("#confirm").inner_text()
        city.district.send(gate, "/v1/scans", {"batch_id": f"b-{n}", "records": []})  # not yet
        page.click("#confirm-button")
        page.wait_for_url("**/console/devices")
        assert w["disabled"] in page.locator(f'tr[data-device="{gate}"]').inner_text()
        city.district.send(gate, "/v1/scans", {"batch_id": f"c-{n}", "records": []}, expect=403)

        if n == 0:
            page.goto(city.url + "/console/users")
            page.locator('tr[data-user="zhao"] select[name=role]').select_option("tracer")
            page.locator('tr[data-user="zhao"] .role-form button').click()
            page.locator("#confirm").wait_for()
            assert w["role_from"] in page.locator("#confirm").inner_text()
            page.click("#confirm-button")
            page.wait_for_url("**/console/users")
            assert w["tracer"] in page.locator('tr[data-user="zhao"] .role').inner_text()
        page.context.close()
