"""On PostgreSQL: records partitioned by month of scanned_at, and the table that keeps ids unique.

The record table is defined once, by the `Record` model: this migration rebuilds the table that
0001 made from it (the model as it stood then, so the migration never changes) as a partitioned
table with the same columns, types and indexes. A partitioned table's unique keys must hold the
partition key, so ``collector_record`` has the primary key (id, scanned_at) and
``collector_record_id`` (id primary key, device_id) is what keeps a record id unique across all
months and tells an id_conflict from a duplicate. Partitions are made by
`gate.collector.partitions` as records arrive. Identifiers (ids, devices, venues, issuers,
subjects) compare bytewise (COLLATE "C"): they are matched, never sorted for people, and a
linguistic collation would slow every index insert. Later migrations of the model alter the
partitioned table like any other (PostgreSQL passes columns and indexes on to the partitions).
SQLite: nothing to do.
"""

from django.db import migrations

IDENTIFIERS = ("id", "device_id", "venue_id", "issuer", "sub")


def _column(field, connection) -> str:  # noqa: ANN001 (a model field, a connection)
    collate = ' COLLATE "C"' if field.column in IDENTIFIERS else ""
    return f"{field.column} {field.db_type(connection)}{collate} {'NULL' if field.null else 'NOT NULL'}"


def partitioned(model, connection) -> list[str]:  # noqa: ANN001 (the Record model, a connection)
    """The statements that turn the model's ``collector_record`` into a partitioned table."""
    meta = model._meta
    table = meta.db_table
    columns = [_column(field, connection) for field in meta.concrete_fields]
    key = meta.get_field("id")
    statements = [
        f"DROP TABLE {table}",
        f"CREATE TABLE {table} ({', '.join(columns)}, PRIMARY KEY (id, scanned_at))"
        " PARTITION BY RANGE (scanned_at)",
    ]
    statements += [f"CREATE INDEX {index.name} ON {table} ({', '.join(index.fields)})"
                   for index in meta.indexes]
    statements.append(f'CREATE TABLE {table}_id (id {key.db_type(connection)} COLLATE "C" PRIMARY KEY,'
                      f' device_id {meta.get_field("device_id").db_type(connection)} COLLATE "C"'
                      " NOT NULL)")
    return statements


def partition_records(apps, schema_editor):  # noqa: ANN001 (Django's signature)
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in partitioned(apps.get_model("collector", "Record"), schema_editor.connection):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [("collector", "0001_initial")]

    operations = [migrations.RunPython(partition_records, migrations.RunPython.noop)]
