"""The province's console: the fleet of fleets, every city's alerts, records and tracing across
cities, with the console's roles and audit; and one page in real Chromium, as an officer sees it."""

from __future__ import annotations

from typing import Iterator

import pytest
from django.test import Client

from gate.collector.app import CollectorApp, create_app
from gate.collector.server import BackgroundServer
from tests.collector.province.conftest import World, record, send_heartbeat, upload, wait_for

PASSWORD = "a long enough pass phrase"


@pytest.fixture(scope="module")
def province_console(world: World, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[CollectorApp, BackgroundServer]]:
    from gate.collector import users

    app = create_app(world.province_url, tmp_path_factory.mktemp("lists"))
    with app.activate():  # the collector's own slow hash: the browser signs in with it
        for name, role in (("pv-viewer", "viewer"), ("pv-tracer", "tracer")):
            users.add_user(name, role, PASSWORD)
    server = BackgroundServer(app).start()
    yield app, server
    server.stop()
    app.close()


def _client(app: CollectorApp, name: str) -> Client:
    from django.contrib.auth.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with app.activate():
        client.force_login(User.objects.get(username=name))
    return client


def _get(app: CollectorApp, client: Client, path: str) -> tuple[int, str]:
    with app.activate():
        answer = client.get(path)
    return answer.status_code, answer.content.decode()


def test_the_fleet_of_fleets_shows_each_citys_gates_and_lag(world: World, province_console
                                                             ) -> None:
    app, _ = province_console
    for city in world.cities.values():
        send_heartbeat(city, queue_depth=4)
    wait_for(lambda: world.province_sql("SELECT count(*) FROM collector_heartbeat WHERE"
                                        " (data->>'queue_depth')::int = 4")[0][0] == 2,
             what="both heartbeats")
    client = _client(app, "pv-viewer")
    status, page = _get(app, client, "/console/province/")
    assert status == 200
    for site_id in ("nanchang", "jiujiang"):
        assert f'data-site="{site_id}"' in page
    assert "streaming" in page or "copying" in page
    assert "2 gates: 2 online, 0 silent" in page
    status, page = _get(app, client, "/console/province/city/nanchang")
    assert status == 200 and 'data-device="gate-0001"' in page and "online" in page
    assert _get(app, client, "/console/province/city/nowhere")[0] == 404
    # a viewer may not trace or search records; anonymous people are sent to sign in
    assert _get(app, client, "/console/province/trace?sub=00")[0] == 403
    assert _get(app, client, "/console/province/records")[0] == 403
    with app.activate():
        assert Client().get("/console/province/").status_code == 302


def test_every_citys_alerts_are_shown_with_their_city(world: World, province_console) -> None:
    app, _ = province_console
    red = record(venue="nanchang-hospital", status="red", decision="deny",
                 decision_reasons=["code_valid", "red"])
    answer = world.cities["nanchang"].collector.post_json(
        "/v1/alerts", {"batch_id": "b-" + red["id"], "records": [red]})
    assert answer.status_code == 200, answer.text
    wait_for(lambda: world.province_sql("SELECT 1 FROM collector_alert WHERE record_id = %s",
                                        (red["id"],)), what="the alert at the province")
    status, page = _get(app, _client(app, "pv-viewer"), "/console/province/alerts?site=nanchang")
    assert status == 200
    assert f'data-record="{red["id"]}" data-site="nanchang"' in page
    assert "nanchang-hospital" in page and "not yet" in page


def test_a_tracer_searches_and_traces_across_cities_and_is_audited(world: World,
                                                                   province_console) -> None:
    app, _ = province_console
    person = "5e" * 16
    upload(world.cities["nanchang"], [record(sub=person, venue="shop-3", minutes_ago=50)])
    upload(world.cities["jiujiang"], [record(sub=person, venue="port-1", minutes_ago=20),
                                      record(venue="port-1", minutes_ago=25)])
    wait_for(lambda: world.province_sql("SELECT count(*) FROM collector_record WHERE sub = %s",
                                        (person,))[0][0] == 2, what="the person's records")
    client = _client(app, "pv-tracer")
    status, page = _get(app, client, f"/console/province/trace?sub={person}")
    assert status == 200
    assert "2 visits" in page and "1 contact" in page
    assert 'data-site="nanchang"' in page and 'data-site="jiujiang"' in page
    with app.activate():
        csv_text = b"".join(client.get(f"/console/province/trace.csv?sub={person}")
                            .streaming_content).decode()
    assert csv_text.count("\nvisit,") == 2 and ",jiujiang,port-1," in csv_text
    status, page = _get(app, client, f"/console/province/records?sub={person}")
    assert status == 200 and "2 records" in page
    audited = world.province_sql("SELECT action, count FROM collector_audit WHERE site_id ="
                                 " 'province' AND username = 'pv-tracer' ORDER BY id")
    assert [a for a, _ in audited] == ["trace", "trace.export", "records.search"]
    assert audited[0][1] == 3


def test_the_province_page_in_chromium(world: World, province_console, browser_page) -> None:
    app, server = province_console
    page = browser_page(1280, 800, locale="zh-CN")
    page.goto(server.url + "/console/province/")
    assert "/console/login" in page.url
    page.fill("input[name=username]", "pv-viewer")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/console/province/")
    row = page.locator('#cities tr[data-site="jiujiang"]')
    assert row.is_visible()
    assert "jiujiang" in row.inner_text()
    assert page.get_by_text("省级：各城市").is_visible()
    row.locator("a.city-link").click()
    page.wait_for_url("**/console/province/city/jiujiang")
    gate = page.locator('#city-gates tr[data-device="gate-0001"]')
    assert gate.is_visible() and "在线" in gate.inner_text()
