"""Bulletins and venue cards in the console (admin): the directive key, a bulletin written,
previewed against the gates' heartbeats, signed, published where GET /v1/bulletin serves it and
accepted by the gates' own check; a bulletin a gate would refuse is never published; which gates
report it; a printable venue card that decodes to a card a gate accepts. All audited, CSRF enforced."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.codes import keys as keylib
from gate.codes.trust import parse_trust_list
from gate.collector import devices
from gate.collector.models import AuditEntry
from gate.directives.bulletin import verify_bulletin
from gate.directives.keys import directive_entry
from tests.collector.console.conftest import token_of

TRUST = {"version": 8, "issued_at": 1764000000, "expires_at": 1766592000, "keys": [], "revoked_kids": []}


@pytest.fixture
def directive_key(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    """The collector's directive key file, as `gate keys new directive` writes it."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "directive.key"
    keylib.write_private_key(path, key)
    return path, key


def delegate(lists_dir: Path, sign_list: Any, key: Ed25519PrivateKey) -> bytes:
    """Serve a trust list (signed by the anchor) that delegates `key` as a directive key."""
    now = int(time.time())
    doc = dict(TRUST, directive_keys=[directive_entry(key.public_key(), now - 86400, now + 86400 * 365)])
    return sign_list(lists_dir / "trustlist.json", doc)


class Fleet:
    """A collector with a directive key, and gates that send heartbeats to it."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.keys: dict[str, Ed25519PrivateKey] = {collector.device_id: collector.device_key}

    def gate(self, device_id: str, venue_id: str, venue_type: str, bulletin_version: int = 0) -> None:
        if device_id not in self.keys:
            key = Ed25519PrivateKey.generate()
            devices.add_device(device_id, devicesig.public_key_b64(key.public_key()))
            self.keys[device_id] = key
        beat = {"device_id": device_id, "sent_at": "2026-11-23T08:15:02.123Z", "software_version": "0.2.0",
                "venue_id": venue_id, "venue_type": venue_type, "config_sha256": "9f2c", "queue_depth": 0,
                "oldest_pending_at": None, "rejected_count": 0, "trust_list_version": 8,
                "status_list_version": 1043, "bulletin_version": bulletin_version, "clock_trusted": True,
                "faults": [], "last_scan_at": None, "uptime_s": 60}
        answer = self.collector.request("POST", "/v1/heartbeat", json.dumps(beat).encode(),
                                        key=self.keys[device_id], device_id=device_id)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def signer(collector_factory, directive_key, lists_dir, sign_list):
    """A collector whose directive key the trust list it serves delegates."""
    delegate(lists_dir, sign_list, directive_key[1])
    collector = collector_factory(directive_key=directive_key[0])
    with collector.app.activate():
        yield collector


def bulletin_form(**fields: Any) -> dict[str, Any]:
    """The bulletins page's fields as the confirmation page sends them again (``confirmed=yes``):
    effective time in local time, note, entries s0..s3."""
    form = {"effective_at": "2026-12-01T08:00", "note": "itinerary checks off (notice 2026-41)",
            "action": "publish", "confirmed": "yes"}
    form.update(fields)
    return form


RESIDENTIAL_OFF = {"s0-venue_types": ["residential"], "s0-itinerary_check": "off"}


# -- the directive key ---------------------------------------------------------------------------

def test_the_console_says_plainly_when_no_directive_key_is_configured(console, client_as):
    page = client_as("admin").get("/console/bulletins")
    assert page.status_code == 200
    assert 'id="no-directive-key"' in page.content.decode()
    assert 'id="publish-button"' not in page.content.decode()


def test_publishing_without_a_directive_key_is_refused_in_one_line(console, client_as, lists_dir):
    answer = client_as("admin").post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
    assert answer.status_code == 409
    assert "no directive key is configured" in answer.content.decode()
    assert not (lists_dir / "bulletin.json").exists()
    assert not AuditEntry.objects.filter(action="bulletin.publish").exists()


def test_the_page_shows_the_public_key_and_that_the_trust_list_delegates_it(signer, client_as, directive_key):
    page = client_as("admin").get("/console/bulletins").content.decode()
    der = keylib.spki_der(directive_key[1].public_key())
    assert base64.b64encode(der).decode() in page
    assert keylib.b64url(keylib.kid_of(der)) in page
    assert 'id="delegated"' in page


def test_a_key_the_trust_list_does_not_delegate_is_shown_and_signs_nothing(collector_factory, directive_key,
                                                                          client_as, lists_dir):
    collector = collector_factory(directive_key=directive_key[0])
    with collector.app.activate():
        client = client_as("admin")
        assert 'id="not-delegated"' in client.get("/console/bulletins").content.decode()
        answer = client.post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
        assert answer.status_code == 409 and "does not delegate" in answer.content.decode()
        assert not (lists_dir / "bulletin.json").exists()


# -- roles and CSRF ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/console/bulletins", "/console/venue-cards"])
def test_only_admins_open_the_directive_pages(signer, client_as, path):
    from django.test import Client

    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and "/console/login" in anonymous["Location"]
    assert Client().get(path, HTTP_ACCEPT="application/json").status_code == 401
    for role in ("viewer", "tracer", None):
        assert client_as(role).get(path).status_code == 403
    assert client_as("admin").get(path).status_code == 200


def test_viewers_and_tracers_cannot_publish_or_print(signer, client_as, lists_dir):
    for role in ("viewer", "tracer"):
        assert client_as(role).post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF)).status_code == 403
        assert client_as(role).post("/console/venue-cards", {"venue_id": "v1", "venue_type": "metro",
                                                            "days": "1", "format": "png"}).status_code == 403
    assert not (lists_dir / "bulletin.json").exists()
    assert not AuditEntry.objects.exists()


def test_publishing_and_printing_need_the_csrf_token(signer, client_as, lists_dir):
    client = client_as("admin", enforce_csrf=True)
    assert client.post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF)).status_code == 403
    assert client.post("/console/venue-cards", {"venue_id": "v1", "venue_type": "metro", "days": "1",
                                                "format": "png"}).status_code == 403
    assert not (lists_dir / "bulletin.json").exists()
    token = token_of(client.get("/console/bulletins"))
    answer = client.post("/console/bulletins", bulletin_form(csrfmiddlewaretoken=token, **RESIDENTIAL_OFF))
    assert answer.status_code == 302
    assert (lists_dir / "bulletin.json").exists()


# -- publishing ----------------------------------------------------------------------------------

def test_a_published_bulletin_is_served_and_verifies_under_the_delegating_trust_list(signer, client_as,
                                                                                   lists_dir):
    answer = client_as("admin").post("/console/bulletins", bulletin_form(
        **RESIDENTIAL_OFF, **{"s1-venue_id_prefixes": "3601, 3602", "s1-fever_c": "37.5"}))
    assert answer.status_code == 302 and answer["Location"].endswith("?published=1")
    served = signer.request("GET", "/v1/bulletin?since=0")
    assert served.status_code == 200
    trust = parse_trust_list((lists_dir / "trustlist.json").read_bytes())
    bulletin = verify_bulletin(served.content, served.headers["X-Signature"], trust, time.time())
    assert bulletin.version == 1
    assert bulletin.note == "itinerary checks off (notice 2026-41)"
    from django.utils import timezone
    from datetime import datetime
    assert bulletin.effective_at == int(timezone.make_aware(datetime(2026, 12, 1, 8, 0)).timestamp())
    assert bulletin.settings_for("g", "360102-x", "residential") == {"venue.itinerary_check": False,
                                                                     "temperature.fever_c": 37.5}
    assert bulletin.settings_for("g", "999", "metro") == {}
    assert signer.request("GET", "/v1/bulletin?since=1").status_code == 304


def test_each_publication_is_one_version_above_the_last_and_audited(signer, client_as):
    client = client_as("admin")
    client.post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
    client.post("/console/bulletins", bulletin_form(**{"s0-itinerary_check": "on"}))
    served = signer.request("GET", "/v1/bulletin")
    assert json.loads(served.content)["version"] == 2
    entries = list(AuditEntry.objects.filter(action="bulletin.publish").order_by("id"))
    assert [e.what["version"] for e in entries] == [1, 2]
    assert entries[1].what["settings"] == [{"scope": {}, "set": {"venue.itinerary_check": True}}]
    assert entries[0].username.startswith("admin")


def test_the_version_stays_above_what_any_gate_reports(signer, client_as):
    Fleet(signer).gate(signer.device_id, "360102-012", "residential", bulletin_version=41)
    client_as("admin").post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
    assert json.loads(signer.request("GET", "/v1/bulletin").content)["version"] == 42


@pytest.mark.parametrize("fields, why", [
    ({"s0-fever_c": "42.5"}, "闸机只接受 35.0 至 42.0 °C 的发热阈值"),
    ({"s0-fever_c": "warm"}, "闸机只接受 35.0 至 42.0 °C 的发热阈值"),
    ({"s0-venue_types": ["metro"]}, "must be a non-empty object"),
    ({"note": "x" * 501, **RESIDENTIAL_OFF}, "at most 500 characters"),
])
def test_a_bulletin_a_gate_would_refuse_is_not_published(signer, client_as, lists_dir, fields, why):
    answer = client_as("admin").post("/console/bulletins", bulletin_form(**fields))
    assert answer.status_code == 400
    page = answer.content.decode()
    assert 'id="bulletin-error"' in page and why in page
    assert not (lists_dir / "bulletin.json").exists()
    assert not AuditEntry.objects.filter(action="bulletin.publish").exists()


def test_a_refused_bulletin_leaves_the_one_in_force(signer, client_as, lists_dir):
    client = client_as("admin")
    client.post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
    before = (lists_dir / "bulletin.json").read_bytes(), (lists_dir / "bulletin.json.sig").read_bytes()
    assert client.post("/console/bulletins", bulletin_form(**{"s0-fever_c": "45"})).status_code == 400
    assert ((lists_dir / "bulletin.json").read_bytes(), (lists_dir / "bulletin.json.sig").read_bytes()) == before


# -- preview and reports -------------------------------------------------------------------------

def rows(page: str, css: str) -> list[str]:
    import re

    return re.findall(rf'<tr data-device="([^"]+)" class="{css}">', page)


def test_the_preview_lists_the_gates_a_bulletin_reaches_and_publishes_nothing(signer, client_as, lists_dir):
    fleet = Fleet(signer)
    fleet.gate("gate-res-3601", "360102-012-north", "residential")
    fleet.gate("gate-res-4401", "440102-001", "residential")
    fleet.gate("gate-metro-3601", "360103-m1", "metro")
    devices.add_device("gate-silent", devicesig.public_key_b64(Ed25519PrivateKey.generate().public_key()))
    answer = client_as("admin").post("/console/bulletins", bulletin_form(action="preview", **{
        "s0-venue_types": ["residential"], "s0-venue_id_prefixes": "3601", "s0-itinerary_check": "off",
        "s1-device_ids": "gate-metro-3601", "s1-fever_c": "37.5"}))
    assert answer.status_code == 200
    page = answer.content.decode()
    assert sorted(rows(page, "reached")) == ["gate-metro-3601", "gate-res-3601"]
    assert sorted(rows(page, "not-reached")) == ["gate-res-4401", "gate-silent", signer.device_id]
    assert "核验行程标记: 关" in page and "发热阈值（°C）: 37.5" in page  # settings in words
    assert not (lists_dir / "bulletin.json").exists()


def test_publishing_asks_first_saying_what_will_happen_and_to_how_many_gates(signer, client_as,
                                                                            lists_dir):
    fleet = Fleet(signer)
    fleet.gate("gate-res-1", "360102-012-north", "residential")
    fleet.gate("gate-metro-1", "360103-m1", "metro")
    client = client_as("admin")
    form = bulletin_form(**RESIDENTIAL_OFF)
    del form["confirmed"]
    asked = client.post("/console/bulletins", form)
    page = asked.content.decode()
    assert asked.status_code == 200 and 'id="confirm-form"' in page
    assert "签名并发布第 1 版通告？" in page and "涉及 1 台闸机。" in page
    assert "住宅小区" in page and "核验行程标记 = 关" in page
    assert not (lists_dir / "bulletin.json").exists()  # asking publishes nothing
    assert not AuditEntry.objects.filter(action="bulletin.publish").exists()
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                            page.split('id="confirm-form"')[1]))
    again["s0-venue_types"] = ["residential"]
    done = client.post("/console/bulletins", again)
    assert done.status_code == 302 and (lists_dir / "bulletin.json").exists()


def test_the_page_shows_which_gates_report_the_bulletin_in_force(signer, client_as):
    client = client_as("admin")
    client.post("/console/bulletins", bulletin_form(**RESIDENTIAL_OFF))
    fleet = Fleet(signer)
    fleet.gate(signer.device_id, "360102-012", "residential", bulletin_version=1)
    fleet.gate("gate-late", "360102-013", "residential", bulletin_version=0)
    page = client.get("/console/bulletins").content.decode()
    assert 'id="current-version">1<' in page
    reporting = page.split('id="reporting">')[1].split("</p>")[0]
    assert signer.device_id in reporting and "gate-late" not in reporting
    lacking = page.split('id="not-reporting"')[1].split("</table>")[0]
    assert 'data-device="gate-late"' in lacking and signer.device_id not in lacking


# -- venue cards ---------------------------------------------------------------------------------

def decode_png(data: bytes) -> str:
    from gate.vision.decode import QRDecoder

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    texts = QRDecoder(budget_ms=5000).decode(image)
    assert texts, "the card's QR code does not decode"
    return texts[0]


def test_a_venue_card_download_decodes_to_a_card_a_gate_accepts(signer, client_as, lists_dir):
    from gate.directives.venue_card import read_card

    answer = client_as("admin").post("/console/venue-cards", {
        "venue_id": "360102-020-east-gate", "venue_type": "residential", "community_codes": "360102-020, 360102-021",
        "device_ids": "gate-a gate-b", "days": "3", "format": "png"})
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert "attachment" in answer["Content-Disposition"]
    text = decode_png(answer.content)
    trust = parse_trust_list((lists_dir / "trustlist.json").read_bytes())
    card = read_card(text, trust, "gate-a", time.time())
    assert (card.venue_id, card.venue_type) == ("360102-020-east-gate", "residential")
    assert card.community_codes == ("360102-020", "360102-021")
    assert card.device_ids == ("gate-a", "gate-b")
    assert card.expires_at - card.issued_at == 3 * 86400
    entry = AuditEntry.objects.get(action="venue_card.issue")
    assert entry.what["venue_id"] == "360102-020-east-gate" and entry.what["card_id"] == card.card_id.hex()
    assert entry.what["community_codes"] == ["360102-020", "360102-021"] and entry.what["format"] == "png"


def test_a_venue_card_comes_as_a_pdf_too(signer, client_as):
    answer = client_as("admin").post("/console/venue-cards", {
        "venue_id": "v-1", "venue_type": "metro", "days": "1", "format": "pdf"})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")


@pytest.mark.parametrize("fields, why", [
    ({"venue_id": "no spaces allowed"}, "venue id must be"),
    ({"days": "31"}, "30"),
])
def test_a_card_a_gate_would_refuse_is_not_made(signer, client_as, fields, why):
    form = {"venue_id": "v-1", "venue_type": "metro", "days": "1", "format": "png", **fields}
    answer = client_as("admin").post("/console/venue-cards", form)
    assert answer.status_code == 400 and why in answer.content.decode()
    assert not AuditEntry.objects.filter(action="venue_card.issue").exists()


def test_no_card_is_made_without_a_directive_key(console, client_as):
    answer = client_as("admin").post("/console/venue-cards", {"venue_id": "v-1", "venue_type": "metro",
                                                             "days": "1", "format": "png"})
    assert answer.status_code == 409 and "no directive key" in answer.content.decode()
    assert not AuditEntry.objects.exists()


# -- in a real browser ---------------------------------------------------------------------------

def test_an_admin_writes_previews_and_publishes_a_bulletin_in_the_browser(signer, browser_page, lists_dir):
    from gate.collector import users
    from tests.collector.console.conftest import PASSWORD

    fleet = Fleet(signer)
    fleet.gate(signer.device_id, "360102-012-north-gate", "residential")
    fleet.gate("gate-metro-1", "360103-m1", "metro")
    users.add_user("chief", "admin", PASSWORD)
    page = browser_page(1280, 1000, locale="en-US")
    page.goto(signer.url + "/console/bulletins")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/console/bulletins")
    assert page.locator("#delegated").is_visible()
    page.check('input[name="s0-venue_types"][value="residential"]')
    page.select_option('select[name="s0-itinerary_check"]', "off")
    page.fill("textarea[name=note]", "No risk areas: itinerary checks off")
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    reached = page.locator("#preview tr.reached")
    assert reached.count() == 1
    assert signer.device_id in reached.inner_text() and "Check itinerary marks: off" in reached.inner_text()
    assert "gate-metro-1" in page.locator("#preview tr.not-reached").inner_text()
    assert not (lists_dir / "bulletin.json").exists()  # a preview publishes nothing
    page.click("#publish-button")
    page.locator("#confirm").wait_for()
    assert "This concerns 1 gate." in page.locator("#confirm").inner_text()
    assert not (lists_dir / "bulletin.json").exists()  # asking publishes nothing
    page.click("#confirm-button")
    page.wait_for_url("**/console/bulletins?published=1")
    assert page.locator("#current-version").inner_text() == "1"
    served = json.loads(signer.request("GET", "/v1/bulletin").content)
    assert served["version"] == 1 and served["note"] == "No risk areas: itinerary checks off"
    assert served["settings"] == [{"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}]
