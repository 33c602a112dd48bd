"""On PostgreSQL: records partitioned by month of scanned_at, and the table that keeps ids unique.

A partitioned table's unique keys must hold the partition key, so ``collector_record`` has the
primary key (id, scanned_at) and ``collector_record_id`` (id primary key, device_id) is what
keeps a record id unique across all months and tells an id_conflict from a duplicate.
Partitions are made by `gate.collector.partitions` as records arrive. Identifiers (ids, devices,
venues, issuers, subjects) compare bytewise (COLLATE "C"): they are matched, never sorted for
people, and a linguistic collation would slow every index insert. SQLite: nothing to do.
"""

from django.db import migrations

_COLUMNS = """
    id varchar(36) COLLATE "C" NOT NULL,
    device_id varchar(200) COLLATE "C" NOT NULL,
    venue_id varchar(200) COLLATE "C" NOT NULL,
    venue_type varchar(100) NOT NULL,
    scanned_at timestamp with time zone NOT NULL,
    received_at timestamp with time zone NOT NULL,
    decision varchar(20) NOT NULL,
    reasons text NOT NULL,
    issuer varchar(100) COLLATE "C" NOT NULL,
    sub varchar(200) COLLATE "C" NOT NULL,
    code_status varchar(20) NOT NULL,
    temperature_c double precision NULL,
    is_alert boolean NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (id, scanned_at)
"""

PARTITIONED = [
    "DROP TABLE collector_record",
    f"CREATE TABLE collector_record ({_COLUMNS}) PARTITION BY RANGE (scanned_at)",
    "CREATE INDEX record_subject_time ON collector_record (issuer, sub, scanned_at)",
    "CREATE INDEX record_venue_time ON collector_record (venue_id, scanned_at)",
    "CREATE INDEX record_time ON collector_record (scanned_at)",
    "CREATE TABLE collector_record_id (id varchar(36) COLLATE \"C\" PRIMARY KEY,"
    " device_id varchar(200) COLLATE \"C\" NOT NULL)",
]


def partition_records(apps, schema_editor):  # noqa: ANN001 (Django's signature)
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in PARTITIONED:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [("collector", "0001_initial")]

    operations = [migrations.RunPython(partition_records, migrations.RunPython.noop)]
