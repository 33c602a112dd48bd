"""Tracing at the province follows a person across cities: visits in both, contacts in both, a
venue being (site_id, venue_id)."""

from __future__ import annotations

import json

from tests.collector.province.conftest import World, record, upload, wait_for
from tests.journeys.userkit import User, user  # noqa: F401 (the fixture)

TRAVELLER = "7a" * 16


def _plant(world: World) -> dict[str, dict]:
    """The traveller at a mall in Nanchang in the morning and a station in Jiujiang later; one
    person near each visit; and a scan at 'mall-1' in Jiujiang (same venue id, another city)."""
    nanchang, jiujiang = world.cities["nanchang"], world.cities["jiujiang"]
    planted = {
        "visit_nc": record(sub=TRAVELLER, venue="mall-1", minutes_ago=600),
        "contact_nc": record(sub="c1" * 16, venue="mall-1", minutes_ago=590),
        "visit_jj": record(sub=TRAVELLER, venue="station-9", minutes_ago=120),
        "contact_jj": record(sub="c2" * 16, venue="station-9", minutes_ago=125),
        "same_id_elsewhere": record(sub="c3" * 16, venue="mall-1", minutes_ago=600),
        "far_in_time": record(sub="c4" * 16, venue="station-9", minutes_ago=300),
    }
    upload(nanchang, [planted["visit_nc"], planted["contact_nc"]])
    upload(jiujiang, [planted["visit_jj"], planted["contact_jj"], planted["same_id_elsewhere"],
                      planted["far_in_time"]])
    ids = [r["id"] for r in planted.values()]
    wait_for(lambda: world.province_sql("SELECT count(*) FROM collector_record WHERE id = ANY(%s)",
                                        (ids,))[0][0] == len(ids), what="the planted records")
    return planted


def test_a_cross_city_trace_finds_visits_and_contacts_in_both(world: World, user: User) -> None:
    planted = _plant(world)
    done = user.gate("collector", "trace", "--db", world.province_url, "--sub", TRAVELLER,
                     "--json").ok()
    result = json.loads(done.stdout)
    assert [(v["site_id"], v["venue_id"], v["record_id"]) for v in result["visits"]] == [
        ("nanchang", "mall-1", planted["visit_nc"]["id"]),
        ("jiujiang", "station-9", planted["visit_jj"]["id"])]
    contacts = {(c["site_id"], c["record_id"]): c for c in result["contacts"]}
    assert set(contacts) == {("nanchang", planted["contact_nc"]["id"]),
                             ("jiujiang", planted["contact_jj"]["id"])}
    assert contacts[("nanchang", planted["contact_nc"]["id"])]["visit_record_id"] \
        == planted["visit_nc"]["id"]
    assert contacts[("jiujiang", planted["contact_jj"]["id"])]["minutes_apart"] == 5.0
    # the province audits the trace (its own audit entry, site 'province')
    audited = world.province_sql("SELECT username, count FROM collector_audit WHERE"
                                 " site_id = 'province' AND action = 'trace' AND what->>'sub' = %s",
                                 (TRAVELLER,))
    assert audited and audited[-1][1] == 4


def test_a_city_traces_its_own_records_with_its_site_id(world: World, user: User) -> None:
    city = world.cities["jiujiang"]
    done = user.gate("collector", "trace", "--db", city.url, "--sub", TRAVELLER, "--json").ok()
    result = json.loads(done.stdout)
    assert {v["site_id"] for v in result["visits"]} == {"jiujiang"}
    assert {c["site_id"] for c in result["contacts"]} == {"jiujiang"}
    assert len(result["contacts"]) == 1
