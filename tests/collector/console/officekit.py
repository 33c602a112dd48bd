"""What the console's browser tests share: a district's gates, scans and alerts sent through the
device API (signed as gates sign them), signing in in Chromium, and the check that a Chinese page
shows no untranslated text.

Untranslated text (issue 20): on a Chinese page every visible text node comes from the catalogue,
except ids, codes, numbers, units and times. The page is read in Chromium as a person sees it:
visible text nodes, placeholders and the options of visible lists, leaving out what the page itself
marks as not to be translated (`translate="no"`: ids, codes, names and notes people typed) or as
another language (`lang="en"` on the language switch). What is left must be Chinese apart from
tokens that are codes (a digit or a separator inside: gate-nc-0001, CN-JX, code_valid), units
(°C) and the Latin fragments the catalogue's own Chinese uses (CSV, SHA-256).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import polib
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import gate.collector.console
from gate import devicesig
from gate.collector.tracing import iso

PASSWORD = "a long enough pass phrase"
CATALOGUE = Path(gate.collector.console.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# tokens with letters that are codes or units rather than words a person reads
CODE_TOKEN = re.compile(r"^(?=.*[A-Za-z])(?:[A-Za-z0-9]+(?:[-_.:/+][A-Za-z0-9]+)+|[A-Za-z]*\d[A-Za-z0-9]*|°C)$")
UNITS = {"°C", "PNG", "PDF"}  # file formats are codes of their own

VISIBLE_TEXT = """() => {
  const out = [];
  const skip = (el) => !el || el.closest('script,style,template,noscript,[translate="no"]') ||
      (el.closest('[lang]') && !el.closest('[lang]').lang.toLowerCase().startsWith('zh'));
  const shown = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) &&
      el.getClientRects().length > 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || skip(el)) continue;
    if (el.tagName === 'OPTION') { if (shown(el.closest('select'))) out.push(text); continue; }
    if (shown(el)) out.push(text);
  }
  for (const el of document.querySelectorAll('input[placeholder],textarea[placeholder]')) {
    if (!skip(el) && shown(el) && el.placeholder.trim()) out.push(el.placeholder.trim());
  }
  out.push(document.title);
  return out;
}"""


@lru_cache(maxsize=1)
def _catalogue_latin() -> tuple[re.Pattern[str], ...]:
    """The Latin fragments of the Chinese catalogue (e.g. 'CSV', 'SHA-256'), as patterns."""
    found = set()
    for entry in polib.pofile(str(CATALOGUE)):
        texts = [entry.msgstr, *entry.msgstr_plural.values()]
        for text in texts:
            text = re.sub(r"<[^>]+>|%\(\w+\)[sd]|%[sd]", " ", text)
            found.update(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", text))
    return tuple(re.compile(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])") for w in sorted(found, key=len, reverse=True))


def untranslated(texts: list[str]) -> list[str]:
    """The texts (from `VISIBLE_TEXT`) that carry words neither in the catalogue nor codes."""
    bad = []
    for text in texts:
        rest = text
        for pattern in _catalogue_latin():
            rest = pattern.sub(" ", rest)
        tokens = re.findall(r"[A-Za-z0-9°][A-Za-z0-9_.:/+°-]*", rest)
        words = [t.strip(".:-/") for t in tokens if re.search(r"[A-Za-z]", t)]
        if [w for w in words if w and w not in UNITS and not CODE_TOKEN.match(w)]:
            bad.append(text)
    return bad


def page_untranslated(page: Any) -> list[str]:
    """What a Chinese page in Chromium shows that is not from the catalogue."""
    assert page.evaluate("document.documentElement.lang").startswith("zh"), page.url
    return untranslated(page.evaluate(VISIBLE_TEXT))


def sign_in(browser_page: Any, url: str, name: str, *, locale: str = "zh-CN", width: int = 1280,
            height: int = 900, path: str = "/console/fleet") -> Any:
    """A Chromium page signed in to the console as `name` (made beforehand)."""
    page = browser_page(width, height, locale=locale)
    page.goto(url + path)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**" + path.split("?")[0] + "*")
    return page


def record(device_id: str, venue: str, at: datetime, sub: str, *, venue_type: str = "residential",
           status: str = "green", decision: str = "allow", reasons: list[str] | None = None,
           temperature: float | None = 36.5, itinerary: bool = False) -> dict[str, Any]:
    """One RECORD of upload.md, as a gate writes it."""
    return {"id": str(uuid.uuid4()), "device_id": device_id, "venue_id": venue,
            "venue_type": venue_type, "scanned_at": iso(at), "clock_trusted": True,
            "code": {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": sub,
                     "cti": uuid.uuid4().hex[:16], "status": status, "itinerary_risk": itinerary},
            "temperature_c": temperature, "temperature_state": "normal", "decision": decision,
            "decision_reasons": reasons or ["code_valid", status, "temperature_normal"],
            "rules_version": f"{venue_type}@3", "trust_list_version": 7, "override": None}


class District:
    """Gates of one district talking to a collector through its device API, signed as gates sign."""

    GATES = (("gate-nc-0001", "360102-012-north-gate", "residential", {}),
             ("gate-nc-0002", "360102-metro-bayi", "metro",
              {"faults": ["camera_lost"], "queue_depth": 37}),
             ("gate-nc-0003", "360102-market-shengli", "public_place", {"trust_list_version": 6}))

    def __init__(self, url: str, add_device: Any = None,
                 keys: dict[str, Ed25519PrivateKey] | None = None) -> None:
        """Gates of `GATES` with `keys` (already registered), or new keys registered through
        `add_device(device_id, public_key_b64)`."""
        self.url = url
        self.keys: dict[str, Ed25519PrivateKey] = dict(keys or {})
        for device_id, *_ in self.GATES:
            if device_id not in self.keys:
                key = Ed25519PrivateKey.generate()
                add_device(device_id, devicesig.public_key_b64(key.public_key()))
                self.keys[device_id] = key
        self.now = datetime.now(timezone.utc)

    def send(self, device_id: str, path: str, body: Any, expect: int = 200) -> requests.Response:
        data = json.dumps(body).encode()
        headers = devicesig.sign_headers(self.keys[device_id], device_id, "POST", path, data,
                                         int(datetime.now(timezone.utc).timestamp()))
        headers["Content-Type"] = "application/json"
        answer = requests.post(self.url + path, data=data, headers=headers, timeout=10)
        assert answer.status_code == expect, answer.text
        return answer

    def heartbeats(self) -> None:
        for device_id, venue, venue_type, extra in self.GATES:
            beat = {"device_id": device_id, "sent_at": iso(self.now), "software_version": "0.2.0",
                    "venue_id": venue, "venue_type": venue_type, "config_sha256": "9f2c",
                    "queue_depth": 0, "oldest_pending_at": None, "rejected_count": 0,
                    "trust_list_version": 7, "status_list_version": 1043, "bulletin_version": 0,
                    "clock_trusted": True, "faults": [], "last_scan_at": iso(self.now),
                    "uptime_s": 86400, **extra}
            self.send(device_id, "/v1/heartbeat", beat)

    def scans(self) -> dict[str, Any]:
        """A traced person (00aa...) at two venues with people near each visit; returns the ids."""
        at = self.now - timedelta(hours=3)
        traced, near, near2, far = "00aa" * 4, "00bb" * 4, "00cc" * 4, "00dd" * 4
        first = [record("gate-nc-0001", "360102-012-north-gate", at, traced),
                 record("gate-nc-0001", "360102-012-north-gate", at + timedelta(minutes=4, seconds=30), near),
                 record("gate-nc-0001", "360102-012-north-gate", at + timedelta(minutes=6), near),
                 record("gate-nc-0001", "360102-012-north-gate", at - timedelta(minutes=7), near2,
                        status="yellow", decision="recheck", reasons=["code_valid", "yellow"])]
        later = self.now - timedelta(hours=1)
        second = [record("gate-nc-0003", "360102-market-shengli", later, near, venue_type="public_place"),
                  record("gate-nc-0003", "360102-market-shengli", later + timedelta(minutes=2), far,
                         venue_type="public_place")]
        self.send("gate-nc-0001", "/v1/scans", {"batch_id": str(uuid.uuid4()), "records": first})
        self.send("gate-nc-0003", "/v1/scans", {"batch_id": str(uuid.uuid4()), "records": second})
        return {"traced": traced, "near": near, "far": far, "first": first, "second": second}

    def alert(self, minutes_ago: float = 2.0, device_id: str = "gate-nc-0002") -> dict[str, Any]:
        """A red code held at the metro gate, sent at once as an alert."""
        sent = record(device_id, "360102-metro-bayi", datetime.now(timezone.utc) - timedelta(minutes=minutes_ago),
                      uuid.uuid4().hex, venue_type="metro", status="red", decision="hold",
                      reasons=["code_valid", "red"], temperature=36.8)
        self.send(device_id, "/v1/alerts", {"batch_id": str(uuid.uuid4()), "records": [sent]})
        return sent
