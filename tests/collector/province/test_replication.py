"""Records, alerts, devices, heartbeats and audit entries of two cities reach the province once, by
PostgreSQL's logical replication, and keep arriving across restarts of either side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gate.collector import django_db
from tests.collector.province.conftest import (World, record, send_heartbeat, upload,
                                              upload_retrying, wait_for)


def _ids_at_province(world: World, site_id: str) -> list[str]:
    return [r[0] for r in world.province_sql(
        "SELECT id FROM collector_record WHERE site_id = %s ORDER BY id", (site_id,))]


def _arrived(world: World, site_id: str, ids: set[str]) -> bool:
    held = world.province_sql("SELECT id FROM collector_record WHERE site_id = %s AND id = ANY(%s)",
                              (site_id, list(ids)))
    return len(held) == len(ids)


def test_records_from_gates_in_both_cities_arrive_once(world: World) -> None:
    sent = {}
    for site_id, city in world.cities.items():
        batch = [record(venue=f"{site_id}-mall") for _ in range(25)]
        upload(city, batch)
        resend = city.collector.upload(batch[:10])  # a gate's resend: stored once, at both
        assert len(resend.json()["duplicates"]) == 10, resend.text
        sent[site_id] = {r["id"] for r in batch}
    for site_id, ids in sent.items():
        wait_for(lambda: _arrived(world, site_id, ids), what=f"{site_id}'s records")
    for site_id, city in world.cities.items():
        at_city = city.cluster.sql("SELECT count(*) FROM collector_record", db="collector")[0][0]
        at_province = _ids_at_province(world, site_id)
        assert len(at_province) == at_city == len(set(at_province))
        assert sent[site_id] <= set(at_province)
    # a record keeps its city: the province's rows of one city are that city's ids only
    assert not set(_ids_at_province(world, "nanchang")) & set(_ids_at_province(world, "jiujiang"))


def test_the_same_device_id_in_two_cities_is_two_devices_at_the_province(world: World) -> None:
    for city in world.cities.values():
        send_heartbeat(city, queue_depth=3)
    wait_for(lambda: world.count("collector_heartbeat") >= 2, what="heartbeats")
    rows = world.province_sql("SELECT site_id, device_id FROM collector_device ORDER BY site_id")
    assert rows == [("jiujiang", "gate-0001"), ("nanchang", "gate-0001")]
    # an update (the next heartbeat) replaces the city's row at the province, not the other city's
    city = world.cities["nanchang"]
    send_heartbeat(city, queue_depth=42)

    def depths() -> dict[str, int]:
        return dict(world.province_sql("SELECT site_id, (data->>'queue_depth')::int"
                                       " FROM collector_heartbeat"))

    wait_for(lambda: depths() == {"nanchang": 42, "jiujiang": 3}, what="the newer heartbeat")


def test_an_alert_acknowledged_in_the_city_is_seen_acknowledged_at_the_province(
        world: World) -> None:
    from django.contrib.auth.models import User

    from gate.collector.models import Alert, AuditEntry

    city = world.cities["jiujiang"]
    red = record(venue="jiujiang-station", sub="ab" * 16, status="red", decision="deny",
                 decision_reasons=["code_valid", "red"])
    answer = city.collector.post_json("/v1/alerts", {"batch_id": "b-" + red["id"],
                                                     "records": [red]})
    assert answer.status_code == 200, answer.text
    wait_for(lambda: world.province_sql(
        "SELECT 1 FROM collector_alert WHERE site_id = 'jiujiang' AND record_id = %s",
        (red["id"],)), what="the alert at the province")
    with django_db.activate(city.collector.app.alias):
        officer = User.objects.create_user("duty-officer", password="x" * 12)
        Alert.objects.get(pk=red["id"]).acknowledge(officer, "sent the team")
        AuditEntry.objects.create(user=officer, username="duty-officer",
                                  action="alert.acknowledge",
                                  what={"record_id": red["id"], "note": "sent the team"})
    from gate.collector.province.alerts import province_alerts

    def acknowledged() -> list:
        with django_db.activate(world.province_alias):
            # the acknowledgement and its audit entry are two transactions of the city: both come
            return [a for a in province_alerts() if a.record_id == red["id"] and a.acknowledged_by]

    seen = wait_for(acknowledged, what="the acknowledgement at the province")[0]
    assert seen.site_id == "jiujiang"
    assert seen.acknowledged_by == "duty-officer"
    assert seen.ack_note == "sent the team"
    # acknowledging stays the city's: the province's copy cannot be changed there
    from django.db import DatabaseError

    with django_db.activate(world.province_alias), pytest.raises(DatabaseError, match="city"):
        Alert.objects.filter(pk=red["id"]).update(ack_note="changed at the province")
    django_db.close_alias(world.province_alias)
    # city users never travel
    assert world.province_sql("SELECT count(*) FROM auth_user WHERE username = 'duty-officer'") \
        == [(0,)]


def test_a_stopped_province_catches_up_with_nothing_lost_or_doubled(world: World) -> None:
    world.province.halt()
    sent = {}
    try:
        for site_id, city in world.cities.items():
            batch = [record(venue=f"{site_id}-park") for _ in range(40)]
            upload(city, batch)
            sent[site_id] = {r["id"] for r in batch}
    finally:
        world.province.start()
    django_db.close_alias(world.province_alias)
    for site_id, ids in sent.items():
        wait_for(lambda: _arrived(world, site_id, ids), what=f"{site_id} after the restart")
    for site_id, city in world.cities.items():
        at_city = city.cluster.sql("SELECT count(*) FROM collector_record", db="collector")[0][0]
        assert world.count("collector_record", site_id) == at_city


def test_a_stopped_city_resumes_where_it_left_off(world: World) -> None:
    city = world.cities["jiujiang"]
    before = set(_ids_at_province(world, "jiujiang"))
    city.cluster.halt()
    try:
        other = [record(venue="nanchang-square") for _ in range(5)]
        upload(world.cities["nanchang"], other)  # the other city goes on meanwhile
        wait_for(lambda: _arrived(world, "nanchang", {r["id"] for r in other}),
                 what="the other city while one is down")
    finally:
        city.cluster.start()
    later = [record(venue="jiujiang-bridge") for _ in range(15)]
    upload_retrying(city, later)
    wait_for(lambda: _arrived(world, "jiujiang", {r["id"] for r in later}),
             what="the restarted city's new records")
    now = set(_ids_at_province(world, "jiujiang"))
    assert before | {r["id"] for r in later} == now


def test_a_record_of_a_month_the_province_has_no_partition_for_never_stalls_the_stream(
        world: World) -> None:
    from gate.collector.province.schema import ensure_months

    city = world.cities["nanchang"]
    # half a year ago: within the city's plausible window, before the months the province made
    month = datetime.now(timezone.utc) - timedelta(days=183)
    partition = f"collector_record_y{month.year:04d}m{month.month:02d}"
    old = record(venue="nanchang-archive", scanned_at=f"{month:%Y-%m}-11T09:00:00.000Z")
    after = record(venue="nanchang-archive")
    upload(city, [old])
    upload(city, [after])  # the stream goes on behind it
    wait_for(lambda: _arrived(world, "nanchang", {old["id"], after["id"]}),
             what="a record of an old month and the next one")
    assert world.province_sql("SELECT count(*) FROM collector_record_default WHERE id = %s",
                              (old["id"],)) == [(1,)]
    with django_db.activate(world.province_alias):
        ensure_months(world.province_alias)  # `province cities` does this: rows to their months
    assert world.province_sql(f"SELECT count(*) FROM {partition} WHERE id = %s",
                              (old["id"],)) == [(1,)]
    assert world.province_sql("SELECT count(*) FROM collector_record WHERE id = %s",
                              (old["id"],)) == [(1,)]
    later = record(venue="nanchang-archive", scanned_at=f"{month:%Y-%m}-12T09:00:00.000Z")
    upload(city, [later])  # the month now has its partition at the province
    wait_for(lambda: _arrived(world, "nanchang", {later["id"]}), what="a second old record")
