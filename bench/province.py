"""The province: records of 10 cities in one PostgreSQL, traced across cities in under 1 s.

    .venv/bin/python bench/province.py [--records N] [--cities N] [--venues N] [--subjects N]
                                       [--days N] [--traces N] [--gates N]

Starts a throw-away PostgreSQL, migrates the collector's schema and prepares it as a province
(`gate.collector.province.schema`: every row keyed by (site_id, city key), records partitioned
by month with a default partition), then loads N records of `--cities` cities with COPY, as the
cities' subscriptions would have delivered them (each with its full record JSON, about 1 KB):
synthetic scans over the last `--days` days at `--venues` venues per city (venue ids carry the
city's area code, as real ones do) by `--subjects` people, and 20 planted travellers with 20
visits each across three cities. After ANALYZE it runs one 14-day trace of each traveller
(`gate.collector.province.tracing.trace_sites`, the query of ``gate collector trace --json`` and
the province's tracing page) and prints the median, with PostgreSQL's EXPLAIN (ANALYZE) of both
queries of one trace. Then it times the fleet of fleets over `--gates` gates with heartbeats.
Exit 1 when the median trace takes 1 s or more, or the fleet page's query 300 ms or more.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests/ kit
from gate.collector import django_db, partitions  # noqa: E402
from tests.postgreskit import TemporaryPostgres  # noqa: E402

COLUMNS = ("site_id", "id", "device_id", "venue_id", "venue_type", "scanned_at", "received_at",
           "decision", "reasons", "issuer", "sub", "code_status", "temperature_c", "is_alert",
           "record")
INDEXES = {
    "record_subject_time": "(issuer, sub, scanned_at)",
    "record_venue_time": "(venue_id, scanned_at)",
    "record_time": "(scanned_at)",
}
BLOCK = 50_000
PLAN_LINES = 40
CITY_CODES = ["3601", "3602", "3603", "3604", "3605", "3606", "3607", "3608", "3609", "3610",
              "3611", "3612"]


def _site(i: int) -> str:
    return f"city-{CITY_CODES[i % len(CITY_CODES)]}"


def _venue(city: int, v: int) -> str:
    return f"{CITY_CODES[city % len(CITY_CODES)]}02-{v:05d}-gate"


_RECORD = ('{{"id":"{rid}","device_id":"{device}","venue_id":"{venue}","venue_type":"residential",'
           '"scanned_at":"{stamp}","clock_trusted":true,"code":{{"valid":true,"reason":"ok",'
           '"issuer":"CN-JX","sub":"{sub}","cti":"{cti}","status":"green","itinerary_risk":false}},'
           '"temperature_c":36.6,"temperature_state":"normal","decision":"allow",'
           '"decision_reasons":["code_valid","green","temperature_normal"],'
           '"rules_version":"residential@3","trust_list_version":7,"status_list_version":1043,'
           '"override":null,"attendant":null,"notes":"{notes}"}}')
NOTES = "x" * 200  # what a record carries besides its columns (~1.2 GB per million stored)


def _line(city: int, v: int, t: float, sub: str, rng: random.Random) -> str:
    """One COPY line: a record as a city's subscription delivers it (full record JSON)."""
    bits = rng.getrandbits(128)
    h = f"{bits:032x}"
    rid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    venue = _venue(city, v)
    device = f"gate-{venue}-1"
    body = _RECORD.format(rid=rid, device=device, venue=venue, stamp=stamp, sub=sub,
                          cti=h[:16], notes=NOTES)
    return (f"{_site(city)}\t{rid}\t{device}\t{venue}\tresidential\t{stamp}\t{stamp}\tallow\t"
            f" code_valid green temperature_normal \tCN-JX\t{sub}\tgreen\t36.6\tf\t{body}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--cities", type=int, default=10)
    parser.add_argument("--venues", type=int, default=300, help="per city")
    parser.add_argument("--subjects", type=int, default=4_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--traces", type=int, default=20)
    parser.add_argument("--gates", type=int, default=10_000)
    args = parser.parse_args()

    rng = random.Random(23)
    now = datetime.now(timezone.utc)
    span = args.days * 86400.0
    pg = TemporaryPostgres().start()
    try:
        url = pg.create_database("province_bench")
        alias = django_db.database_alias(url)
        from django.db import connections

        from gate.collector.province.schema import prepare

        prepare(alias)
        months = set()
        moment = now - timedelta(days=args.days + 1)
        while moment <= now + timedelta(days=31):
            months.add(moment.strftime("%Y-%m"))
            moment += timedelta(days=27)
        partitions.ensure_for(alias, months)

        travellers = [f"{0xfeed0000 + i:032x}" for i in range(args.traces)]
        planted = []
        for sub in travellers:
            home = rng.randrange(args.cities)
            for k in range(20):
                city = (home + k % 3) % args.cities
                t = now.timestamp() - rng.random() * 13.5 * 86400
                planted.append(_line(city, rng.randrange(args.venues), t, sub, rng))

        conn = connections[alias]
        conn.ensure_connection()
        raw = conn.connection
        loaded = 0
        began = time.perf_counter()
        with raw.cursor() as cur:
            for name in INDEXES:
                cur.execute(f"DROP INDEX {name}")
            cur.execute("ALTER TABLE collector_record DROP CONSTRAINT collector_record_pkey")
            # as the subscriptions' apply workers write: a city's rows are read-only otherwise
            cur.execute("SET session_replication_role = replica")
            raw.commit()
            with cur.copy(f"COPY collector_record ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(planted))
                while loaded < args.records:
                    n = min(BLOCK, args.records - loaded)
                    base = now.timestamp()
                    lines = [_line(rng.randrange(args.cities), rng.randrange(args.venues),
                                   base - rng.random() * span,
                                   f"{rng.randrange(args.subjects):032x}", rng)
                             for _ in range(n)]
                    copy.write("".join(lines))
                    loaded += n
                    if loaded % 1_000_000 == 0:
                        print(f"  {loaded:,} records loaded", file=sys.stderr, flush=True)
            raw.commit()
            load_s = time.perf_counter() - began
            began = time.perf_counter()
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute("ALTER TABLE collector_record ADD PRIMARY KEY (site_id, id, scanned_at)")
            for name, columns in INDEXES.items():
                cur.execute(f"CREATE INDEX {name} ON collector_record {columns}")
            cur.execute("ANALYZE collector_record")
            raw.commit()
            index_s = time.perf_counter() - began
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
            cur.execute("SELECT sum(pg_relation_size(c.oid)) FILTER (WHERE c.relname LIKE"
                        " '%%issuer_sub%%'), sum(pg_relation_size(c.oid)) FILTER (WHERE"
                        " c.relname LIKE '%%venue_id%%') FROM pg_class c WHERE c.relkind = 'i'"
                        " AND c.relname LIKE 'collector_record%%'")
            subject_index, venue_index = cur.fetchone()
        print(f"loaded {loaded + len(planted):,} records of {args.cities} cities with COPY in "
              f"{load_s:.1f} s ({loaded / load_s:,.0f} records/s), key and indexes built in "
              f"{index_s:.1f} s, {len(partitions.existing(alias))} month partitions, database "
              f"{size / 1e9:.2f} GB ({size / 1e9 / max(loaded, 1) * 1e6:.2f} GB per million); the "
              f"trace's indexes: subject {subject_index / max(loaded, 1):.0f} and venue "
              f"{venue_index / max(loaded, 1):.0f} bytes per record")

        from gate.collector.province.tracing import trace_sites

        times, found = [], []
        for sub in travellers:
            began = time.perf_counter()
            result = trace_sites(alias, sub, "CN-JX")
            times.append(time.perf_counter() - began)
            found.append((len(result["visits"]), len(result["contacts"]),
                          len({v["site_id"] for v in result["visits"]})))
        median = statistics.median(times)
        print(f"{len(times)} traces over 14 days: median {median * 1000:.0f} ms, best "
              f"{min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms; visits "
              f"{statistics.median(f[0] for f in found):.0f}, contacts "
              f"{statistics.median(f[1] for f in found):.0f}, cities "
              f"{statistics.median(f[2] for f in found):.0f} (medians)")
        plans = trace_sites(alias, travellers[0], "CN-JX", explain=True)["plans"]
        for name, plan in plans.items():
            lines = plan.splitlines()
            shown = lines if len(lines) <= PLAN_LINES else lines[:PLAN_LINES] + [
                f"   ... ({len(lines) - PLAN_LINES} more lines: one index scan per window"
                " and month)", *lines[-4:]]
            print(f"--- plan of the {name} query (EXPLAIN ANALYZE)\n" + "\n".join(shown))

        fleet_ms = _fleet(alias, args.gates, args.cities, now)
        print(f"fleet of fleets over {args.gates:,} gates in {args.cities} cities: "
              f"{fleet_ms:.0f} ms (median of 5)")
        django_db.close_alias(alias)
        return 0 if median < 1.0 and fleet_ms < 300 else 1
    finally:
        pg.stop()


def _fleet(alias: str, gates: int, cities: int, now: datetime) -> float:
    """Time the fleet of fleets' query over `gates` gates with heartbeats (median of 5), ms."""
    from django.db import connections

    from gate.collector.province.fleet import city_rows

    with connections[alias].cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "INSERT INTO collector_device (site_id, device_id, public_key, enabled, added_at)"
            " SELECT 'city-' || (3601 + g %% %s), 'gate-' || g, 'key-' || g, true, now()"
            " FROM generate_series(1, %s) g", [cities, gates])
        cur.execute(
            "INSERT INTO collector_heartbeat (site_id, device_id, received_at, data)"
            " SELECT site_id, device_id, now() - (random() * interval '20 minutes'),"
            " jsonb_build_object('queue_depth', (random() * 5)::int, 'trust_list_version', 7,"
            " 'status_list_version', 1040 + (random() * 3)::int, 'faults', '[]'::jsonb)"
            " FROM collector_device")
        cur.execute("ANALYZE collector_device")
        cur.execute("ANALYZE collector_heartbeat")
    times = []
    for _ in range(5):
        began = time.perf_counter()
        city_rows(alias, [], now)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    sys.exit(main())
