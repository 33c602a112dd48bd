"""The alerts page: alerts from the device API with decision, reasons, temperature, venue and
local time; acknowledged with a note (who and when kept, audited); paging for yellow codes and
itinerary marks in ordinary batches only for an officer who chose it."""

from __future__ import annotations

from django.test import Client

from gate.collector.models import Alert, AuditEntry
from tests.collector.console.conftest import alert, scan, token_of, upload


def red(**kw):
    return scan(status="red", decision="hold", reasons=["code_valid", "red"], **kw)


def test_an_alert_from_a_gate_is_listed_with_what_the_officer_needs(console, client_as):
    record = scan(status="green", decision="refer", temperature_c=38.4, minutes_ago=0,
                  reasons=["code_valid", "green", "temperature_abnormal", "fever_confirmed"],
                  venue="360102-metro-3")
    record["scanned_at"] = "2026-11-30T01:02:03.000Z"
    alert(console, record)
    client = client_as("viewer")
    page = client.get("/console/alerts").content.decode()
    row = page[page.index(f'data-record="{record["id"]}"'):]
    row = row[:row.index("</tr>")]
    from django.utils.html import escape

    from gate.vocabulary import saying

    for words in ('data-decision="refer">发热请登记<', ">temperature_abnormal</abbr>",
                  ">fever_confirmed</abbr>", escape(saying("refer", "fever_confirmed", "residential").zh), "38.4 °C",
                  "360102-metro-3", "2026-11-30 09:02:03"):  # UTC 01:02 is 09:02 in the collector's time zone
        assert words in row, words
    listed = client.get("/console/api/alerts").json()["alerts"]
    assert [a["record_id"] for a in listed] == [record["id"]]
    assert listed[0]["scanned_at"] == "2026-11-30T09:02:03+08:00"
    assert listed[0]["decision_text"] == "发热请登记"
    assert listed[0]["said"] == saying("refer", "fever_confirmed", "residential").zh


def test_decisions_and_reasons_are_in_words_of_the_pages_language(console, client_as):
    from django.utils.html import escape

    from gate.vocabulary import REASON_MEANINGS, saying

    record = red(minutes_ago=0)
    alert(console, record)
    client = client_as("viewer", HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/console/alerts").content.decode()
    assert 'data-decision="hold">WAIT HERE<' in page
    assert escape(saying("hold", "red", "residential").en) in page
    assert f'title="{escape(REASON_MEANINGS["red"])}">red</abbr>' in page
    listed = client.get("/console/api/alerts").json()["alerts"]
    assert listed[0]["decision_text"] == "WAIT HERE" and listed[0]["said"] == saying("hold", "red", "residential").en
    assert listed[0]["reason_meanings"]["code_valid"] == REASON_MEANINGS["code_valid"]


def test_a_decision_the_vocabulary_does_not_know_is_shown_as_it_came(console):
    from django.utils import translation

    from gate.collector.console.words import deciding_text, decision_text

    with translation.override("en"):
        assert decision_text("teleport") == "teleport"
        assert deciding_text("allow", ["code_valid", "some_future_reason"]) == "some_future_reason"
        assert deciding_text("allow", []) == ""


def test_ordinary_allow_records_are_no_alerts(console, client_as):
    upload(console, [scan()])
    assert client_as("viewer").get("/console/api/alerts").json() == {"alerts": []}


def test_acknowledging_keeps_who_when_and_the_note_and_is_audited(console, client_as, person):
    record = red()
    alert(console, record)
    officer = person("viewer", "duty-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    token = token_of(client.get("/console/alerts"))
    answer = client.post(f"/console/alerts/{record['id']}/acknowledge",
                         {"note": "called the township office", "csrfmiddlewaretoken": token},
                         REMOTE_ADDR="10.1.2.3")
    assert answer.status_code == 302
    kept = Alert.objects.get(pk=record["id"])
    assert kept.acknowledged_by == officer and kept.acknowledged_at is not None
    assert kept.ack_note == "called the township office"
    entry = AuditEntry.objects.get(action="alert.acknowledge")
    assert (entry.username, entry.address) == ("duty-1", "10.1.2.3")
    assert entry.what == {"record_id": record["id"], "note": "called the township office"}
    listed = client.get("/console/api/alerts").json()["alerts"][0]
    assert listed["acknowledged_by"] == "duty-1" and listed["note"] == "called the township office"
    assert client.get("/console/api/alerts?open=1").json() == {"alerts": []}


def test_acknowledging_without_the_csrf_token_is_refused_and_changes_nothing(console, client_as):
    record = red()
    alert(console, record)
    answer = client_as("viewer", enforce_csrf=True).post(
        f"/console/alerts/{record['id']}/acknowledge", {"note": "x"})
    assert answer.status_code == 403
    assert Alert.objects.get(pk=record["id"]).acknowledged_at is None
    assert not AuditEntry.objects.exists()


def test_acknowledging_as_json_answers_who_and_when(console, client_as):
    record = red()
    alert(console, record)
    answer = client_as("viewer").post(f"/console/alerts/{record['id']}/acknowledge",
                                      {"note": ""}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer.json()["record_id"] == record["id"]


def test_an_unknown_record_cannot_be_acknowledged(console, client_as):
    upload(console, [plain := scan()])
    client = client_as("viewer")
    assert client.post("/console/alerts/nope/acknowledge", {"note": ""}).status_code == 404
    assert client.post(f"/console/alerts/{plain['id']}/acknowledge", {"note": ""}).status_code == 404
    assert not AuditEntry.objects.exists()


def test_yellow_codes_and_itinerary_marks_in_batches_page_only_an_officer_who_chose_it(
        console, client_as):
    yellow = scan(status="yellow", decision="recheck", reasons=["code_valid", "yellow"])
    marked = scan(status="green", itinerary_risk=True, reasons=["code_valid", "green"])
    upload(console, [yellow, marked, scan()])
    chooser, other = client_as("viewer"), client_as("viewer")
    assert chooser.get("/console/api/alerts").json() == {"alerts": []}
    assert chooser.post("/console/alerts/paging", {"yellow_and_itinerary": "on"}).status_code == 302
    paged = chooser.get("/console/api/alerts").json()["alerts"]
    assert {a["record_id"] for a in paged} == {yellow["id"], marked["id"]}
    assert all(a["paged"] for a in paged)
    assert other.get("/console/api/alerts").json() == {"alerts": []}
    assert AuditEntry.objects.get(action="alerts.paging").what == {"yellow_and_itinerary": True}
    # acknowledging a paged record keeps who and when as for an alert
    assert chooser.post(f"/console/alerts/{yellow['id']}/acknowledge",
                        {"note": "seen"}).status_code == 302
    assert Alert.objects.get(pk=yellow["id"]).ack_note == "seen"
    assert other.post(f"/console/alerts/{marked['id']}/acknowledge", {"note": ""}).status_code == 404
    chooser.post("/console/alerts/paging", {})
    assert [a["record_id"] for a in chooser.get("/console/api/alerts").json()["alerts"]] == \
        [yellow["id"]]  # acknowledged ones stay listed; the unchosen batch record goes


def test_a_note_from_a_record_is_shown_as_text_never_as_markup(console, client_as):
    record = red()
    alert(console, record)
    client = client_as("viewer")
    client.post(f"/console/alerts/{record['id']}/acknowledge", {"note": "<script>x()</script>"})
    page = client.get("/console/alerts").content.decode()
    assert "<script>x()</script>" not in page and "&lt;script&gt;" in page


def test_the_first_acknowledgement_stands(console, client_as, person):
    record = red()
    alert(console, record)
    first, second = client_as("viewer"), client_as("viewer")
    assert first.post(f"/console/alerts/{record['id']}/acknowledge", {"note": "mine"}).status_code == 302
    answer = second.post(f"/console/alerts/{record['id']}/acknowledge", {"note": "late"})
    assert answer.status_code == 409 and "已由" in answer.content.decode()
    assert Alert.objects.get(pk=record["id"]).ack_note == "mine"
    assert AuditEntry.objects.filter(action="alert.acknowledge").count() == 1
