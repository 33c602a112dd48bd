"""A province stopped past a city's slot cap (max_slot_wal_keep_size) is told so in one line and
re-syncs that city with `add-city --resync`: nothing the city holds is missing afterwards, nothing
is doubled, and what the province kept that the city has since deleted stays."""

from __future__ import annotations

import json

from gate.collector import django_db
from tests.collector.province.conftest import World, record, upload, wait_for
from tests.journeys.userkit import User, user  # noqa: F401 (the fixture)


def _lose_slot(world: World) -> None:
    city = world.cities["jiujiang"].cluster

    def lost() -> bool:
        city.sql("CREATE TABLE IF NOT EXISTS filler (x int)", db="collector")
        city.sql("INSERT INTO filler VALUES (1)", db="collector")
        city.sql("SELECT pg_switch_wal()")
        city.sql("CHECKPOINT")
        return city.sql("SELECT wal_status FROM pg_replication_slots")[0][0] == "lost"

    wait_for(lost, timeout_s=30, what="the city's slot to pass its cap")


def _cities(user: User, world: World) -> dict[str, dict]:
    done = user.gate("collector", "province", "cities", "--db", world.province_url, "--json").ok()
    return {c["site_id"]: c for c in map(json.loads, done.stdout.splitlines())}


def test_a_city_past_its_slot_cap_is_re_synced_with_nothing_lost(world: World,
                                                                  user: User) -> None:
    city = world.cities["jiujiang"]
    kept = record(venue="jiujiang-old")
    upload(city, [kept])
    wait_for(lambda: world.province_sql("SELECT 1 FROM collector_record WHERE id = %s",
                                        (kept["id"],)), what="the record before")
    # the city's retention deletes it: deletes are not published, the province keeps its copy
    city.cluster.sql("DELETE FROM collector_record WHERE id = %s", (kept["id"],), db="collector")
    city.cluster.sql("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
    city.cluster.sql("SELECT pg_reload_conf()")
    world.province.halt()
    try:
        missed = [record(venue="jiujiang-while-away") for _ in range(5)]
        upload(city, missed)
        _lose_slot(world)
    finally:
        world.province.start()
        city.cluster.sql("ALTER SYSTEM RESET max_slot_wal_keep_size")
        city.cluster.sql("SELECT pg_reload_conf()")
    django_db.close_alias(world.province_alias)

    shown = _cities(user, world)["jiujiang"]
    assert shown["state"] == "lost" and shown["behind"] and "--resync" in shown["detail"]
    assert _cities(user, world)["nanchang"]["state"] == "streaming"
    again = user.gate("collector", "province", "add-city", "jiujiang", "--dsn", city.url, "--db",
                      world.province_url, "--resync").ok()
    assert len(again.stdout.splitlines()) == 1 and "re-synced" in again.stdout

    from gate.collector.province.cities import city_states

    def synced() -> bool:
        with django_db.activate(world.province_alias):
            states = {s.site_id: s for s in city_states(world.province_alias)}
        return states["jiujiang"].state == "streaming" and not \
            world.province_sql("SELECT 1 FROM province_hold.collector_record")

    wait_for(synced, timeout_s=40, what="the fresh copy and the held rows put back")
    at_city = {r[0] for r in city.cluster.sql("SELECT id FROM collector_record", db="collector")}
    at_province = [r[0] for r in world.province_sql(
        "SELECT id FROM collector_record WHERE site_id = 'jiujiang'")]
    assert len(at_province) == len(set(at_province))  # nothing doubled
    assert set(at_province) == at_city | {kept["id"]}  # nothing lost; the province's own copy kept
    assert {r["id"] for r in missed} <= set(at_province)
    later = record(venue="jiujiang-after")
    upload(city, [later])
    wait_for(lambda: world.province_sql("SELECT 1 FROM collector_record WHERE id = %s",
                                        (later["id"],)), what="changes after the re-sync")
