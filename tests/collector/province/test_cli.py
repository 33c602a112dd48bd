"""`gate collector set-site` and `gate collector province add-city | cities`, run as a person types
them (subprocesses in a clean environment)."""

from __future__ import annotations

import json
import re

import pytest
from datetime import datetime, timedelta, timezone

from gate.collector import django_db
from tests.collector.province.conftest import World, record, upload, wait_for
from tests.journeys.userkit import User, user  # noqa: F401 (the fixture)


def test_set_site_names_a_city_once_and_says_what_its_server_lacks(world: World,
                                                                    user: User) -> None:
    # the province's own server runs with wal_level = replica: a city there is not ready
    url = world.province.create_database("newcity")
    done = user.gate("collector", "set-site", "ganzhou", "--db", url).ok()
    assert "max_slot_wal_keep_size" in done.stdout and "wal_level = logical" in done.stdout
    lines = [line for line in done.stderr.splitlines() if "not ready" in line]
    assert len(lines) == 1 and "wal_level is replica" in lines[0]
    refused = user.gate("collector", "set-site", "pingxiang", "--db", url).refused()
    assert "already named ganzhou" in refused.stderr
    from gate.collector.province.site import SiteError, check_site_id, set_site

    with pytest.raises(SiteError):
        check_site_id("bad_name!")
    alias = django_db.database_alias(url)
    assert set_site(alias, "ganzhou").named_now is False  # the same name again: fine
    django_db.close_alias(alias)
    on_sqlite = django_db.database_alias(f"sqlite:///{user.cwd}/c.db")
    with pytest.raises(SiteError, match="PostgreSQL"):
        set_site(on_sqlite, "x1")


def test_add_city_refuses_a_city_that_is_not_what_it_claims(world: World, user: User) -> None:
    city = world.cities["nanchang"]
    wrong = user.gate("collector", "province", "add-city", "jiujiang", "--dsn", city.url,
                      "--db", world.province_url).refused()
    assert "is city nanchang, not jiujiang" in wrong.stderr
    from gate.collector.province.cities import CityError, add_city

    with django_db.activate(world.province_alias):
        with pytest.raises(CityError, match="already subscribed.*--resync"):
            add_city(world.province_alias, "nanchang", city.url)
        unnamed = world.cities["nanchang"].cluster.create_database("unnamed")
        with pytest.raises(CityError, match="has not named itself"):
            add_city(world.province_alias, "nanchang", unnamed)


def _cities(user: User, world: World) -> dict[str, dict]:
    done = user.gate("collector", "province", "cities", "--db", world.province_url, "--json").ok()
    return {c["site_id"]: c for c in map(json.loads, done.stdout.splitlines())}


def test_cities_shows_each_citys_lag_in_bytes_and_seconds(world: World, user: User) -> None:
    from gate.collector.province.cities import city_states

    with django_db.activate(world.province_alias):
        wait_for(lambda: all(s.lag_bytes == 0 for s in city_states(world.province_alias)),
                 what="both cities caught up")
    shown = _cities(user, world)
    assert set(shown) == {"nanchang", "jiujiang"}
    for city in shown.values():
        assert city["state"] == "streaming" and not city["behind"] and city["last_applied_at"]
        assert city["lag_bytes"] >= 0 and city["lag_s"] >= 0
    text = user.gate("collector", "province", "cities", "--db", world.province_url).ok().stdout
    assert re.search(r"^nanchang  streaming  lag \d+ bytes, [\d.]+ s  last applied 20", text, re.M)


def test_a_city_whose_changes_wait_shows_their_age_and_is_behind_after_ten_minutes(
        world: World) -> None:
    from gate.collector.province.cities import city_states, subscription_name

    name = subscription_name("jiujiang")
    world.province_sql(f"ALTER SUBSCRIPTION {name} DISABLE")
    wait_for(lambda: not world.province_sql(
        "SELECT 1 FROM pg_stat_subscription WHERE subname = %s AND pid IS NOT NULL", (name,)),
        what="the subscription's worker to stop")
    try:
        upload(world.cities["jiujiang"], [record(venue="jiujiang-late")])
        start = datetime.now(timezone.utc)
        with django_db.activate(world.province_alias):
            first = {s.site_id: s for s in city_states(world.province_alias, now=start)}
            later = {s.site_id: s for s in city_states(
                world.province_alias, now=start + timedelta(minutes=11))}
        assert first["jiujiang"].lag_bytes > 0 and first["jiujiang"].lag_s == 0
        assert later["jiujiang"].lag_s == 660.0 and later["jiujiang"].behind
        assert later["jiujiang"].state == "stopped"
    finally:
        world.province_sql(f"ALTER SUBSCRIPTION {name} ENABLE")
    with django_db.activate(world.province_alias):
        caught_up = wait_for(lambda: [s for s in city_states(world.province_alias)
                                      if s.site_id == "jiujiang" and s.lag_bytes == 0],
                             what="jiujiang caught up")
    assert caught_up[0].lag_s == 0 and not caught_up[0].behind


def test_serve_refuses_a_replica_it_cannot_read_in_one_line(user: User) -> None:
    done = user.gate("collector", "serve", "--db", f"sqlite:///{user.cwd}/c.db", "--port", "0",
                     "--db-read", "mysql://nowhere/x", timeout=60)
    assert "unsupported database URL 'mysql://nowhere/x'" in done.refused().stderr
    assert not (user.cwd / "c.db").exists()  # refused before anything was made
