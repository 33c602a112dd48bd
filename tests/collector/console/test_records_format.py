"""Credentials in the console (credentials.md): the records page shows each record's format (with
the certificate type and a refusing rule) and searches by it; in Chromium, what a tracer sees."""

from __future__ import annotations

from tests.collector.console.conftest import scan, upload
from tests.collector.console.test_pages import signed_in
from tests.collector.console.test_records import ids


def credential(fmt: str, cert_type: str, *, rule_id: str | None = None, minutes_ago: float = 5.0) -> dict:
    """A RECORD of a DCC or SHC scan, as a gate writes it (gate.record.code_summary)."""
    accepted = rule_id is None
    record = scan(sub="0d" * 16, issuer="DCC-DE" if fmt == "DCC" else "SHC:health.example.org",
                  minutes_ago=minutes_ago, decision="allow" if accepted else "deny",
                  reasons=["code_valid", "credential_accepted", "temperature_normal"] if accepted
                  else ["code_valid", "credential_not_accepted"])
    record["code"].update({"status": None, "cti": None, "format": fmt, "cert_type": cert_type})
    if rule_id:
        record["code"]["rule_id"] = rule_id
    return record


def test_records_are_searched_by_format(console, client_as):
    jkm1 = scan(minutes_ago=1)
    dcc = credential("DCC", "v", rule_id="VR-CN-0002", minutes_ago=2)
    shc = credential("SHC", "v", minutes_ago=3)
    upload(console, [jkm1, dcc, shc])
    client = client_as("tracer")
    cases = {"format=DCC": [dcc], "format=SHC": [shc], "format=JKM1": [jkm1], "format=": [jkm1, dcc, shc]}
    for query, expected in cases.items():
        page = client.get(f"/console/records?{query}").content.decode()
        assert ids(page) == [r["id"] for r in expected], query
    assert client.get("/console/records?format=XYZ").status_code == 400


def test_a_tracer_sees_the_format_and_the_refusing_rule(console, browser_page):
    dcc = credential("DCC", "v", rule_id="VR-CN-0002")
    upload(console, [dcc, scan(minutes_ago=9)])
    page = signed_in(browser_page, console, "tracer", "tracer1")
    page.goto(console.url + "/console/records?format=DCC")
    row = page.locator(f'#records tr[data-record="{dcc["id"]}"]')
    assert row.is_visible()
    cell = row.locator("td.format")
    assert cell.is_visible() and cell.inner_text().strip() == "DCC · v VR-CN-0002"
    assert page.locator("#records th", has_text="码制").is_visible()  # the column, in the page's Chinese
    assert page.locator("#records tr[data-record]").count() == 1
