"""Contact tracing on PostgreSQL with 10 million records: one trace must answer in under 1 s.

    .venv/bin/python bench/trace.py [--records N] [--venues N] [--subjects N] [--days N]
                                    [--runs N]

Starts a throw-away PostgreSQL, migrates the collector's schema (records partitioned by month),
bulk-loads N records with COPY (synthetic scans spread over the last `--days` days at
`--venues` venues by `--subjects` people, plus one planted subject with 20 visits), runs
ANALYZE, then times `gate.collector.tracing.trace` for the planted subject over the default
14 days (the same call the console and ``gate collector trace --json`` make). Prints the load
rate and each trace's time with its visit and contact counts; exit 1 when the best trace took
1 s or more.
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

from gate.collector import django_db

django_db.setup()  # before anything imports the collector's models

from gate.collector import partitions  # noqa: E402
from gate.collector.records import ScanWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests/ kit
from tests.postgreskit import TemporaryPostgres  # noqa: E402

COLUMNS = ("id", "device_id", "venue_id", "venue_type", "scanned_at", "received_at", "decision",
           "reasons", "issuer", "sub", "code_status", "temperature_c", "is_alert", "record")
PLANTED = "feedface" * 4
# the secondary indexes of migration 0002, dropped for the load and built again after it
INDEXES = {
    "record_subject_time": "(issuer, sub, scanned_at)",
    "record_venue_time": "(venue_id, scanned_at)",
    "record_time": "(scanned_at)",
}
BLOCK = 100_000


def _lines(count: int, venues: int, subjects: int, start: float, span: float,
           rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        t = start + rng.random() * span
        v = rng.randrange(venues)
        rid = uuid.UUID(int=rng.getrandbits(128), version=4)
        stamp = datetime.fromtimestamp(t, timezone.utc).isoformat()
        sub = f"{rng.randrange(subjects):032x}"
        out.append(
            f"{rid}\tgate-{v:05d}-1\tvenue-{v:05d}\tresidential\t{stamp}\t{stamp}\tallow\t"
            f" green temperature_normal \tCN-JX\t{sub}\tgreen\t36.6\tf\t"
            f'{{"id":"{rid}","venue_id":"venue-{v:05d}"}}\n'
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--venues", type=int, default=2_000)
    parser.add_argument("--subjects", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    start = (now - timedelta(days=args.days)).timestamp()
    span = args.days * 86400.0
    pg = TemporaryPostgres().start()
    try:
        url = pg.create_database("trace_bench")
        alias = django_db.database_alias(url)
        from django.db import connections

        # every month the records span gets its partition before the load
        months = set()
        moment = now - timedelta(days=args.days + 1)
        while moment <= now + timedelta(days=31):
            months.add(moment.strftime("%Y-%m"))
            moment += timedelta(days=27)
        partitions.ensure_for(alias, months, ScanWindow(f"{min(months)}-01", f"{max(months)}-31"))

        planted = []
        for i in range(20):
            v = rng.randrange(args.venues)
            t = now - timedelta(days=rng.random() * 13)
            stamp = t.isoformat()
            rid = uuid.uuid4()
            planted.append(
                f"{rid}\tgate-{v:05d}-1\tvenue-{v:05d}\tresidential\t{stamp}\t{stamp}\tallow\t"
                f" green temperature_normal \tCN-JX\t{PLANTED}\tgreen\t36.6\tf\t"
                f'{{"id":"{rid}"}}\n'
            )

        conn = connections[alias]
        conn.ensure_connection()
        raw = conn.connection
        loaded = 0
        began = time.perf_counter()
        with raw.cursor() as cur:
            for name in INDEXES:
                cur.execute(f"DROP INDEX {name}")
            raw.commit()
            with cur.copy(f"COPY collector_record ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(planted))
                while loaded < args.records:
                    n = min(BLOCK, args.records - loaded)
                    copy.write("".join(_lines(n, args.venues, args.subjects, start, span, rng)))
                    loaded += n
                    if loaded % 1_000_000 == 0:
                        print(f"  {loaded:,} records loaded", file=sys.stderr, flush=True)
            raw.commit()
            load_s = time.perf_counter() - began
            began = time.perf_counter()
            for name, columns in INDEXES.items():
                cur.execute(f"CREATE INDEX {name} ON collector_record {columns}")
            cur.execute("ANALYZE collector_record")
            raw.commit()
            index_s = time.perf_counter() - began
        print(f"loaded {loaded + len(planted):,} records with COPY in {load_s:.1f} s "
              f"({loaded / load_s:,.0f} records/s), indexes built in {index_s:.1f} s, "
              f"{len(partitions.existing(alias))} month partitions")

        from gate.collector.tracing import trace

        times = []
        with django_db.activate(alias):
            for _ in range(args.runs):
                began = time.perf_counter()
                result = trace(PLANTED, "CN-JX")
                times.append(time.perf_counter() - began)
        print(f"trace of one subject over 14 days: {len(result['visits'])} visits, "
              f"{len(result['contacts'])} contacts; best {min(times) * 1000:.0f} ms, "
              f"median {statistics.median(times) * 1000:.0f} ms, first {times[0] * 1000:.0f} ms "
              f"({args.runs} runs)")
        django_db.close_alias(alias)
        return 0 if min(times) < 1.0 else 1
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
