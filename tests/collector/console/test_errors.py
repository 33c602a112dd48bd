"""Refusals inside the console's frame (views/errors.py): 400 for a parameter out of range, 403 for
a page above the role, 404 and 500, each with the console's header and a way back, in the
session's language; requests outside the console keep the device API's JSON answers."""

from __future__ import annotations

import pytest
from django.test import Client

PAST_THE_END = "99999999999999999999999"


def framed(answer) -> str:
    page = answer.content.decode()
    assert 'id="refusal"' in page and '<header class="top">' in page and 'id="go-home"' in page
    return page


def test_a_page_above_the_role_is_a_403_page_in_chinese_with_a_way_back(console, client_as):
    answer = client_as("viewer").get("/console/audit")
    assert answer.status_code == 403
    page = framed(answer)
    assert "您的角色无权打开此页面。" in page and "此页面需要的角色：管理员。" in page
    assert "This page needs" not in page


def test_the_403_page_follows_the_sessions_language(console, client_as):
    client = client_as("tracer")
    client.post("/console/i18n/setlang/", {"language": "en"})
    page = framed(client.get("/console/users"))
    assert "Your role may not open this page." in page and "administrator" in page


def test_an_unknown_console_page_or_record_is_a_404_page(console, client_as):
    client = client_as("tracer")
    assert "没有这个页面或记录。" in framed(client.get("/console/no-such-page"))
    missing = client.get("/console/records/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "没有这个页面或记录。" in framed(missing)


def test_outside_the_console_a_404_is_still_the_device_apis_json(console):
    answer = Client().get("/v1/nothing-here")
    assert answer.status_code == 404 and answer.json() == {"error": "not_found"}


def test_a_fault_in_a_console_page_is_a_500_page_in_the_frame(console, client_as, monkeypatch):
    from gate.collector.console.views import fleet

    def broken(*args, **kwargs):
        raise RuntimeError("a fault the page did not expect")

    monkeypatch.setattr(fleet, "fleet_page", broken)
    client = client_as("viewer")
    client.raise_request_exception = False
    answer = client.get("/console/fleet")
    assert answer.status_code == 500
    page = framed(answer)
    assert "汇集服务器出错" in page and "a fault the page did not expect" not in page


def test_a_stale_form_is_a_403_page_not_djangos_english_one(console, client_as):
    client = client_as("viewer", enforce_csrf=True)
    answer = client.post("/console/alerts/paging", {"yellow_and_itinerary": "on"})
    assert answer.status_code == 403 and "表单已过期" in framed(answer)


@pytest.mark.parametrize("path", ["/console/records?venue=&page=" + PAST_THE_END,
                                  "/console/fleet?page=" + PAST_THE_END,
                                  "/console/devices?page=" + PAST_THE_END,
                                  "/console/audit?page=" + PAST_THE_END,
                                  "/console/records?venue=&page=-3",
                                  "/console/fleet?page=abc"])
def test_a_page_number_past_the_last_shows_the_last_page(console, client_as, path):
    answer = client_as("admin").get(path)
    assert answer.status_code == 200
    assert 'id="page-number"' in answer.content.decode()


@pytest.mark.parametrize("query", ["start=0001-01-01&end=0001-01-02", "start=9999-12-31",
                                   "end=2100-01-02", "start=1999-12-31T23:59"])
@pytest.mark.parametrize("path", ["/console/records", "/console/records.csv", "/console/trace",
                                  "/console/trace.csv"])
def test_a_date_outside_2000_to_2100_is_a_400_page_in_the_pages_language(console, client_as,
                                                                          path, query):
    client = client_as("tracer")
    answer = client.get(f"{path}?sub=00aa&{query}")
    assert answer.status_code == 400
    page = answer.content.decode()
    assert '<header class="top">' in page and "请填写 2000-01-01 至 2100-01-01 之间的时间。" in page
    client.post("/console/i18n/setlang/", {"language": "en"})
    english = client.get(f"{path}?sub=00aa&{query}").content.decode()
    assert "A time between 2000-01-01 and 2100-01-01, please." in english


def test_other_bad_parameters_are_400_pages(console, client_as):
    client = client_as("admin")
    for path in ("/console/fleet?state=nonsense", "/console/fleet?sort=password",
                 "/console/records?venue=&sort=id;drop", "/console/trace?sub=00aa&via=%0a",
                 "/console/trace?sub=00aa&window_min=99999", "/console/audit?day_to=3000-01-01"):
        answer = client.get(path)
        assert answer.status_code == 400, path
        assert '<header class="top">' in answer.content.decode(), path
