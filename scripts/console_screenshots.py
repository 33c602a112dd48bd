#!/usr/bin/env python3
"""Screenshots of the console for the README: the fleet (also at 768 px), the alerts, a contact
trace and a contact's own trace, a record, bulletins and the confirmation before publishing, the
audit log.

Starts a real collector (SQLite in a temporary folder) on a free loopback port, has six
simulated gates of one district send heartbeats, scan batches and alerts through the device API
(signed like real gates; one gate went silent two hours ago, one runs an old trust list, one has
a camera fault and a backlog; bulletin 1 is in force and most gates report it), signs in as an admin in headless Chromium (Playwright,
tests/browser.py) and photographs the pages.

    .venv/bin/python scripts/console_screenshots.py [--out docs/screenshots] [--lang zh-hans|en]

The data is made up for the picture; `gate demo --console` shows the console on the demo's own
footage instead.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/browser.py: the one way this project starts Chromium

import requests  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from gate import devicesig  # noqa: E402
from gate.collector import django_db  # noqa: E402

django_db.setup()

from gate.codes import keys as keylib  # noqa: E402
from gate.collector import bulletins, devices, users  # noqa: E402
from gate.collector.app import create_app  # noqa: E402
from gate.collector.server import BackgroundServer  # noqa: E402
from gate.collector.tracing import iso  # noqa: E402
from gate.directives.keys import directive_entry  # noqa: E402
from tests.browser import chromium, find_chromium, new_page  # noqa: E402
from tests.collectorkit import write_signed  # noqa: E402

PASSWORD = "screenshots only 2026"
# id, venue, venue type, minutes since its last heartbeat, heartbeat fields that differ
GATES: list[tuple[str, str, str, float, dict[str, Any]]] = [
    ("gate-nc-0001", "360102-012-north-gate", "residential", 1, {}),
    ("gate-nc-0002", "360102-012-south-gate", "residential", 2, {}),
    ("gate-nc-0003", "360102-metro-line1-bayi", "metro", 1,
     {"faults": ["camera_lost"], "queue_depth": 37}),
    ("gate-nc-0004", "360102-market-shengli", "public_place", 3, {"trust_list_version": 6}),
    ("gate-nc-0005", "360102-hospital-1", "special_place", 125,
     {"queue_depth": 212, "faults": ["status_list_stale"]}),
    ("gate-nc-0006", "360102-school-no3", "special_place", 4, {}),
]


class Clock:
    """The collector's clock, moved back while a gate that went silent sends its last heartbeat."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() - self.offset


def send(url: str, key: Ed25519PrivateKey, device_id: str, path: str, body: Any,
         at: float | None = None) -> None:
    data = json.dumps(body).encode()
    headers = devicesig.sign_headers(key, device_id, "POST", path, data, int(at or time.time()))
    headers["Content-Type"] = "application/json"
    answer = requests.post(url + path, data=data, headers=headers, timeout=10)
    answer.raise_for_status()


def record(device_id: str, venue: str, venue_type: str, at: datetime, sub: str, status: str = "green",
           temperature: float = 36.5, decision: str = "allow", reasons: list[str] | None = None,
           itinerary: bool = False) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "device_id": device_id, "venue_id": venue,
            "venue_type": venue_type, "scanned_at": iso(at), "clock_trusted": True,
            "code": {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": sub,
                     "cti": uuid.uuid4().hex[:16], "status": status, "itinerary_risk": itinerary},
            "temperature_c": temperature, "temperature_state": "normal", "decision": decision,
            "decision_reasons": reasons or ["code_valid", status, "temperature_normal"],
            "rules_version": f"{venue_type}@3", "trust_list_version": 7, "override": None}


def seed(url: str, clock: Clock, keys: dict[str, Ed25519PrivateKey]) -> str:
    """Heartbeats, two days of scans and today's alerts; the subject to trace."""
    rng = random.Random(2026)
    now = datetime.now(timezone.utc)
    people = [f"{rng.getrandbits(64):016x}" for _ in range(60)]
    traced = people[0]
    for device_id, venue, venue_type, silent_min, extra in GATES:
        batch = []
        for n in range(40):
            at = now - timedelta(minutes=silent_min + 3 + n * 31 + rng.random() * 20)
            batch.append(record(device_id, venue, venue_type, at, rng.choice(people[1:]),
                                temperature=round(36.1 + rng.random() * 0.8, 1)))
        if device_id in ("gate-nc-0001", "gate-nc-0003", "gate-nc-0004"):
            visit = now - timedelta(hours={"gate-nc-0001": 30, "gate-nc-0003": 20,
                                           "gate-nc-0004": 6}[device_id])
            batch.append(record(device_id, venue, venue_type, visit, traced))
            for k, minutes in enumerate((-12, -4, 3, 9, 21)[: 3 + len(batch) % 3]):
                batch.append(record(device_id, venue, venue_type,
                                    visit + timedelta(minutes=minutes), people[10 + k * 3 + len(venue) % 3]))
        if device_id == "gate-nc-0002":
            batch.append(record(device_id, venue, venue_type, now - timedelta(minutes=50),
                                people[7], status="yellow", decision="recheck",
                                reasons=["code_valid", "yellow"]))
        send(url, keys[device_id], device_id, "/v1/scans", {"batch_id": str(uuid.uuid4()),
                                                            "records": batch})
    alerts = [
        record("gate-nc-0003", "360102-metro-line1-bayi", "metro", now - timedelta(minutes=3),
               people[21], temperature=38.3, decision="refer",
               reasons=["code_valid", "green", "temperature_abnormal", "fever_confirmed"]),
        record("gate-nc-0001", "360102-012-north-gate", "residential", now - timedelta(minutes=14),
               people[22], status="red", decision="hold", reasons=["code_valid", "red"]),
        record("gate-nc-0006", "360102-school-no3", "special_place", now - timedelta(minutes=41),
               people[23], decision="hold", itinerary=True,
               reasons=["code_valid", "green", "itinerary_risk"]),
    ]
    for alert in alerts:
        send(url, keys[alert["device_id"]], alert["device_id"], "/v1/alerts",
             {"batch_id": str(uuid.uuid4()), "records": [alert]})
    for device_id, venue, venue_type, silent_min, extra in GATES:
        beat = {"device_id": device_id, "sent_at": iso(now), "software_version": "0.2.0",
                "venue_id": venue, "venue_type": venue_type, "config_sha256": "9f2c",
                "queue_depth": 0, "oldest_pending_at": None, "rejected_count": 0,
                "trust_list_version": 7, "status_list_version": 1043,
                "bulletin_version": 1 if silent_min < 60 and device_id != "gate-nc-0004" else 0,
                "clock_trusted": True, "faults": [],
                "last_scan_at": iso(now - timedelta(minutes=silent_min + 1)), "uptime_s": 86400}
        beat.update(extra)
        if beat["queue_depth"]:
            beat["oldest_pending_at"] = iso(now - timedelta(minutes=silent_min + 47))
        clock.offset = silent_min * 60
        send(url, keys[device_id], device_id, "/v1/heartbeat", beat, at=clock())
        clock.offset = 0.0
    return traced


def take(out: Path, language: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="gate-console-shots-") as tmp:
        clock = Clock()
        lists = Path(tmp) / "lists"
        lists.mkdir()
        directive = Ed25519PrivateKey.generate()
        keylib.write_private_key(Path(tmp) / "directive.key", directive)
        now = int(time.time())
        write_signed(lists / "trustlist.json", {  # signed by a throwaway anchor: served, not checked
            "version": 7, "issued_at": now, "expires_at": now + 30 * 86400, "keys": [], "revoked_kids": [],
            "directive_keys": [directive_entry(directive.public_key(), now - 86400, now + 365 * 86400)]},
            Ed25519PrivateKey.generate())
        app = create_app(f"sqlite:///{tmp}/collector.db", lists, clock=clock,
                         directive_key=Path(tmp) / "directive.key")
        keys = {g[0]: Ed25519PrivateKey.generate() for g in GATES}
        with app.activate():
            for device_id, key in keys.items():
                devices.add_device(device_id, devicesig.public_key_b64(key.public_key()))
            users.add_user("admin", "admin", PASSWORD)
            bulletins.publish(app.lists, directive, now - 86400, now - 80000,
                              "Fever threshold 37.5 at metro stations (city notice 2026-38)",
                              [{"scope": {"venue_types": ["metro"]}, "set": {"temperature.fever_c": 37.5}}])
        with BackgroundServer(app) as server:
            traced = seed(server.url, clock, keys)
            with chromium() as browser:
                page = new_page(browser, 1280, 760,
                                locale="zh-CN" if language.startswith("zh") else "en-GB")
                page.goto(server.url + "/console/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.click("#sign-in")
                page.wait_for_url("**/console/fleet")
                shots = [("console-fleet", "/console/fleet", "#fleet"),
                         ("console-alerts", "/console/alerts", "#alerts tr[data-record]"),
                         ("console-trace", f"/console/trace?sub={traced}&issuer=CN-JX",
                          "#timeline")]
                for name, path, ready in shots:
                    page.goto(server.url + path)
                    page.locator(ready).first.wait_for()
                    target = out / f"{name}.png"
                    target.write_bytes(page.screenshot(full_page=False))
                    written.append(target)
                written += detail_shots(page, server.url, out, traced)
                written += bulletin_shots(page, server.url, out)
                page.goto(server.url + "/console/audit")
                page.locator("#audit").wait_for()
                written.append(shot(page, out / "console-audit.png"))
                page.set_viewport_size({"width": 768, "height": 1000})
                page.goto(server.url + "/console/fleet")
                page.locator("#fleet").wait_for()
                written.append(shot(page, out / "console-fleet-768.png"))
        app.close()
    return written


def shot(page: Any, target: Path, full_page: bool = False) -> Path:
    target.write_bytes(page.screenshot(full_page=full_page))
    return target


def detail_shots(page: Any, url: str, out: Path, traced: str) -> list[Path]:
    """A contact's own trace (second degree, the chain shown) and a record's detail page."""
    page.goto(url + f"/console/trace?sub={traced}&issuer=CN-JX")
    page.locator("#people a.trace-person").first.click()
    page.locator("#chain").wait_for()
    taken = [shot(page, out / "console-trace-second.png")]
    page.goto(url + "/console/alerts")
    first = page.locator("#alerts tr[data-record]").first
    first.wait_for()
    page.goto(url + "/console/records/" + first.get_attribute("data-record"))
    page.locator("#record").wait_for()
    taken.append(shot(page, out / "console-record.png"))
    return taken


def bulletin_shots(page: Any, url: str, out: Path) -> list[Path]:
    """The bulletins page with bulletin 2 written and previewed: residential gates of 3601 stop
    checking itineraries; the gates it reaches and what each would take; then the confirmation
    page that "Sign and publish" answers (nothing is published by it)."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(url + "/console/bulletins")
    page.fill("textarea[name=note]", "No medium or high risk areas: itinerary checks off at "
                                     "residential gates (city notice 2026-41)")
    page.check('input[name="s0-venue_types"][value="residential"]')
    page.fill('input[name="s0-venue_id_prefixes"]', "3601")
    page.select_option('select[name="s0-itinerary_check"]', "off")
    page.click("#preview-button")
    page.locator("#preview").wait_for()
    taken = [shot(page, out / "console-bulletins.png", full_page=True)]
    page.click("#publish-button")
    page.locator("#confirm").wait_for()
    taken.append(shot(page, out / "console-confirm.png"))
    page.set_viewport_size({"width": 1280, "height": 760})
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", default="zh-hans", choices=["zh-hans", "en"])
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("console_screenshots: no chromium found; install Debian's chromium package.",
              file=sys.stderr)
        return 2
    for path in take(args.out, args.lang):
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
