"""A city beyond one process: its console reads records from a streaming replica (pg_basebackup,
hot standby) and writes sign-in, sessions, acknowledgements and audit entries to the primary."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
import requests

from gate.collector import django_db
from gate.collector.province import replica
from tests.collector.province.clusters import Standby
from tests.collector.province.conftest import City, World, record, upload, wait_for

PASSWORD = "a long enough pass phrase"
sessions: list[requests.Session] = []  # closed with the module's fixture


@pytest.fixture(scope="module")
def city_with_replica(world: World) -> Iterator[tuple[City, Standby]]:
    from gate.collector import users

    city = world.cities["nanchang"]
    standby = city.cluster.standby()
    app = city.collector.app
    with app.activate():
        users.add_user("rp-tracer", "tracer", PASSWORD)
    replica.use_replica(app.alias, standby.database_url("collector"))
    yield city, standby
    for session in sessions:
        session.close()
    replica.unpair(app.alias)
    standby.stop()


def _signed_in(city: City) -> requests.Session:
    session = requests.Session()
    login = session.get(city.collector.url + "/console/login")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    answer = session.post(city.collector.url + "/console/login",
                          data={"username": "rp-tracer", "password": PASSWORD,
                                "csrfmiddlewaretoken": token},
                          headers={"Referer": city.collector.url + "/console/login"})
    assert answer.status_code == 200 and "/console/login" not in answer.url, answer.text[:300]
    return session


def _shown(session: requests.Session, city: City, sub: str) -> str:
    answer = session.get(city.collector.url + f"/console/records?sub={sub}")
    assert answer.status_code == 200
    return answer.text


def test_the_replica_reading_console_sees_what_the_primary_wrote(city_with_replica) -> None:
    city, standby = city_with_replica
    session = _signed_in(city)  # its session was written: to the primary (the replica refuses)
    sessions.append(session)
    person = "9d" * 16
    first = record(sub=person, venue="nanchang-library")
    upload(city, [first])
    wait_for(lambda: first["id"] in _shown(session, city, person), what="the first record")

    standby.sql("SELECT pg_wal_replay_pause()", db="collector")
    try:
        second = record(sub=person, venue="nanchang-library", minutes_ago=1)
        upload(city, [second])
        assert city.collector.db.record(second["id"]) is not None  # on the primary
        page = _shown(session, city, person)
        assert first["id"] in page and second["id"] not in page  # read from the paused replica
    finally:
        standby.sql("SELECT pg_wal_replay_resume()", db="collector")
    wait_for(lambda: second["id"] in _shown(session, city, person),
             what="the replica to replay the second record")
    audited = city.cluster.sql("SELECT count(*) FROM collector_audit WHERE username ="
                               " 'rp-tracer' AND action = 'records.search'", db="collector")
    assert audited[0][0] >= 3  # every search audited, on the primary


def test_an_acknowledgement_through_the_replica_reading_console_goes_to_the_primary(
        city_with_replica) -> None:
    city, _ = city_with_replica
    session = _signed_in(city)
    sessions.append(session)
    red = record(venue="nanchang-gym", status="red", decision="deny",
                 decision_reasons=["code_valid", "red"])
    answer = city.collector.post_json("/v1/alerts", {"batch_id": "b-" + red["id"],
                                                     "records": [red]})
    assert answer.status_code == 200
    alerts = session.get(city.collector.url + "/console/alerts")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', alerts.text).group(1)
    done = session.post(city.collector.url + f"/console/alerts/{red['id']}/acknowledge",
                        data={"note": "handled", "csrfmiddlewaretoken": token},
                        headers={"Referer": city.collector.url + "/console/alerts",
                                 "Accept": "application/json"})
    assert done.status_code == 200, done.text[:300]
    held = city.cluster.sql("SELECT ack_note FROM collector_alert WHERE record_id = %s",
                            (red["id"],), db="collector")
    assert held == [("handled",)]
    django_db.close_alias(city.collector.app.alias)
