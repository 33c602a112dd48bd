"""The province's world for its tests, made once for all of them: two cities (nanchang, jiujiang) and a
province, each its own PostgreSQL cluster on loopback (initdb'd here, once for the package), the cities' collectors on
loopback taking signed uploads from their gates, the province subscribed to both."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector import django_db
from gate.collector.app import create_app
from gate.collector.server import BackgroundServer
from tests.collector.province.clusters import Cluster, PostgresUnavailable
from tests.collectorkit import Collector

POLL_S = 0.05


def wait_for(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    """Poll `condition` until it answers something true; that answer (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(POLL_S)


@dataclass
class City:
    site_id: str
    cluster: Cluster
    url: str
    collector: Collector

    def restart_collector(self) -> None:
        """After the city's server was restarted: drop the collector's stale connections."""
        django_db.close_alias(self.collector.app.alias)


@dataclass
class World:
    cities: dict[str, City]
    province: Cluster
    province_url: str
    province_alias: str

    def count(self, table: str, site_id: str | None = None) -> int:
        where = " WHERE site_id = %s" if site_id else ""
        return self.province.sql(f"SELECT count(*) FROM {table}{where}",
                                 (site_id,) if site_id else (), db="province")[0][0]

    def province_sql(self, statement: str, args: tuple = ()) -> list[tuple]:
        return self.province.sql(statement, args, db="province")


def start_city(site_id: str, tmp: Path, key: Ed25519PrivateKey) -> City:
    from gate.collector.province.site import set_site

    cluster = Cluster(site_id).start()
    url = cluster.create_database("collector")
    app = create_app(url, tmp / "lists")
    app.db.add_device("gate-0001", devicesig.public_key_b64(key.public_key()))
    server = BackgroundServer(app).start()
    collector = Collector(server, app, "gate-0001", key, tmp / "lists")
    set_site(app.alias, site_id)
    return City(site_id, cluster, url, collector)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from gate.collector.province.cities import add_city

    tmp = tmp_path_factory.mktemp("province")
    started: list[Cluster] = []
    cities: dict[str, City] = {}
    try:
        for site_id in ("nanchang", "jiujiang"):
            key = Ed25519PrivateKey.generate()
            city = start_city(site_id, tmp, key)
            started.append(city.cluster)
            cities[site_id] = city
        province = Cluster("province", wal_level="replica").start()
        started.append(province)
    except PostgresUnavailable as exc:
        for cluster in started:
            cluster.stop()
        pytest.skip(f"province tests skipped: {exc}")
    province_url = province.create_database("province")
    alias = django_db.database_alias(province_url)
    for site_id, city in cities.items():
        add_city(alias, site_id, city.url)
    world = World(cities, province, province_url, alias)
    # every test starts from cities whose first copy is done (each table "ready")
    wait_for(lambda: world.province_sql("SELECT count(*) FROM pg_subscription_rel"
                                        " WHERE srsubstate <> 'r'") == [(0,)],
             what="the first copy of both cities")
    yield world
    for city in cities.values():
        city.collector.session.close()
        city.collector.server.stop()
        city.collector.app.close()
    django_db.close_alias(alias)
    # the province first (its apply workers leave the cities' walsenders), each with a fast
    # shutdown: an immediate one waits 5 s for replication processes to give up
    for cluster in reversed(started):
        cluster.halt()
        cluster.stop()


def record(device_id: str = "gate-0001", *, sub: str | None = None, venue: str = "venue-1",
           minutes_ago: float = 5.0, status: str = "green", **overrides: Any) -> dict[str, Any]:
    """A RECORD of upload.md scanned `minutes_ago` at `venue` by subject `sub` (random if None)."""
    from datetime import datetime, timedelta, timezone

    from gate.collector.tracing import iso
    from tests.collectorkit import new_record

    code = {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": sub or uuid.uuid4().hex,
            "cti": "a1b2c3d4e5f60708", "status": status, "itinerary_risk": False}
    moment = overrides.pop("scanned_at", None) or iso(
        datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))
    return new_record(device_id, venue_id=venue, scanned_at=moment, code=code, **overrides)


def upload(city: City, records: list[dict[str, Any]]) -> None:
    answer = city.collector.upload(records)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == len(records), answer.text


def upload_retrying(city: City, records: list[dict[str, Any]], timeout_s: float = 20) -> None:
    """Upload as a gate does after its city's database came back: retried until stored."""
    def done() -> bool:
        try:
            answer = city.collector.upload(records)
        except requests.RequestException:
            return False
        if answer.status_code != 200:
            django_db.close_alias(city.collector.app.alias)
            return False
        return True

    wait_for(done, timeout_s, "the city's collector to store a batch")


def heartbeat(device_id: str = "gate-0001", **overrides: Any) -> dict[str, Any]:
    """A heartbeat body of upload.md, sent now."""
    from datetime import datetime, timezone

    from gate.collector.tracing import iso

    body = {"device_id": device_id, "sent_at": iso(datetime.now(timezone.utc)),
            "software_version": "0.2.0", "venue_id": "venue-1", "venue_type": "residential",
            "config_sha256": "9f2c", "queue_depth": 0, "oldest_pending_at": None,
            "rejected_count": 0, "trust_list_version": 7, "status_list_version": 1043,
            "bulletin_version": 0, "clock_trusted": True, "faults": [], "last_scan_at": None,
            "uptime_s": 60}
    body.update(overrides)
    return body


def send_heartbeat(city: City, **overrides: Any) -> None:
    import time as clock

    answer = city.collector.post_json("/v1/heartbeat", heartbeat(**overrides),
                                      timestamp=int(clock.time()) + send_heartbeat.bump)
    send_heartbeat.bump += 1  # each newer than the last (a replay is not stored)
    assert answer.status_code == 200, answer.text


send_heartbeat.bump = 0  # type: ignore[attr-defined]
