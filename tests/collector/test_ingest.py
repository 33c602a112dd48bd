"""Storing records (gate.collector.ingest) on SQLite and PostgreSQL: every id once per device.

On PostgreSQL a batch is first stored as if every id were new and, when one is already held,
stored again from a savepoint; these tests hold both ways to the same answers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


from gate.collector import django_db, ingest
from gate.collector.models import Alert, Record
from gate.collector.records import RecordRow, check_record
from tests.collectorkit import new_record


def rows(records: list[dict], device_id: str = "gate-a") -> list:
    return [check_record(r, device_id, 0.0) for r in records]


def make(count: int, device_id: str = "gate-a") -> list[dict]:
    return [new_record(device_id=device_id) for _ in range(count)]


def test_a_new_batch_is_stored_whole(alias_both):
    batch = make(20)
    stored = ingest.store_records(rows(batch), alias_both)
    assert stored.new == {r["id"] for r in batch}
    assert stored.conflicts == set()
    assert Record.objects.count() == 20


def test_a_held_id_at_the_end_of_a_batch_leaves_the_new_ones_stored_once(alias_both):
    held = make(1)
    ingest.store_records(rows(held), alias_both)
    fresh = make(30)
    stored = ingest.store_records(rows(fresh + held), alias_both)
    assert stored.new == {r["id"] for r in fresh}
    assert stored.conflicts == set()
    assert Record.objects.count() == 31
    again = ingest.store_records(rows(fresh + held), alias_both)
    assert again.new == set() and again.conflicts == set()
    assert Record.objects.count() == 31


def test_new_duplicate_and_conflicting_ids_in_one_batch_are_told_apart(alias_both):
    mine = make(3)
    theirs = make(2, device_id="gate-b")
    ingest.store_records(rows(mine[:1]), alias_both)
    ingest.store_records(rows(theirs, "gate-b"), alias_both)
    # gate-a sends one id it already has, two new ones, and two ids gate-b holds
    stolen = [dict(r, device_id="gate-a") for r in theirs]
    stored = ingest.store_records(rows(mine + stolen), alias_both)
    assert stored.new == {mine[1]["id"], mine[2]["id"]}
    assert stored.conflicts == {r["id"] for r in theirs}
    assert Record.objects.count() == 5
    assert set(Record.objects.filter(device_id="gate-b").values_list("id", flat=True)) == {
        r["id"] for r in theirs}


def test_an_alert_batch_with_a_held_id_marks_each_alert_once(alias_both):
    first = make(2)
    ingest.store_records(rows(first), alias_both)
    later = make(3)
    stored = ingest.store_records(rows(later + first), alias_both, alerts=True)
    assert stored.new == {r["id"] for r in later}
    assert stored.new_alerts == {r["id"] for r in later + first}
    assert Alert.objects.count() == 5
    assert Record.objects.filter(is_alert=True).count() == 5
    again = ingest.store_records(rows(later + first), alias_both, alerts=True)
    assert again.new == set() and again.new_alerts == set()
    assert Alert.objects.count() == 5


def test_an_urgent_record_in_an_ordinary_batch_is_an_alert_once_whichever_path_brings_it(
        alias_both):
    red = {**new_record()["code"], "status": "red"}
    urgent = [new_record("gate-a", decision="hold", decision_reasons=["code_valid", "red"], code=red),
              new_record("gate-a", decision="refer"),
              new_record("gate-a", decision="deny", code=red)]
    plain = make(3)
    stored = ingest.store_records(rows(plain + urgent), alias_both)  # /v1/scans, no alert request
    assert stored.new_alerts == {r["id"] for r in urgent}
    assert set(Alert.objects.values_list("record_id", flat=True)) == {r["id"] for r in urgent}
    assert set(Record.objects.filter(is_alert=True).values_list("id", flat=True)) == {
        r["id"] for r in urgent}
    # the same records again, in a batch and as alerts: stored once, each an alert once
    assert ingest.store_records(rows(plain + urgent), alias_both).new_alerts == set()
    again = ingest.store_records(rows(urgent), alias_both, alerts=True)
    assert again.new == set() and again.new_alerts == set()
    assert Alert.objects.count() == 3 and Record.objects.count() == 6


def test_an_urgent_record_from_another_device_is_no_alert_of_this_one(alias_both):
    held = make(1, device_id="gate-b")
    ingest.store_records(rows(held, "gate-b"), alias_both)
    stolen = [dict(held[0], device_id="gate-a", decision="hold")]
    stored = ingest.store_records(rows(stolen), alias_both)
    assert stored.conflicts == {held[0]["id"]} and stored.new_alerts == set()
    assert not Alert.objects.exists()


def test_two_devices_racing_with_the_same_ids_store_each_id_once(alias_both):
    """Many writers on their own connections (as several collector processes would be)."""
    shared = make(200)

    def send(n: int) -> ingest.Stored:
        device = "gate-a" if n % 2 == 0 else "gate-b"
        batch = [dict(r, device_id=device) for r in shared]
        try:
            with django_db.activate(alias_both):
                return ingest.store_records(rows(batch, device), alias_both)
        finally:
            django_db.close_alias(alias_both)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    ids = {r["id"] for r in shared}
    new = [i for a in answers for i in a.new]
    assert sorted(new) == sorted(ids)  # each id stored by exactly one writer
    assert Record.objects.count() == 200
    holder = dict(Record.objects.values_list("id", "device_id"))
    for n, answer in enumerate(answers):
        device = "gate-a" if n % 2 == 0 else "gate-b"
        # an id the other device holds is a conflict, never a duplicate
        assert answer.conflicts == {i for i in ids if holder[i] != device}


def test_ingest_writes_exactly_the_columns_of_the_one_record_model():
    model = [f.column for f in Record._meta.concrete_fields]
    assert [name for name, _ in ingest.RECORD_COLUMNS] == model
    assert set(model) <= set(RecordRow._fields)


def test_the_table_in_the_database_is_the_models_on_both_databases(alias_both):
    from django.db import connections

    connection = connections[alias_both]
    with connection.cursor() as cur:
        found = connection.introspection.get_table_description(cur, "collector_record")
    by_name = {c.name: c for c in found}
    fields = Record._meta.concrete_fields
    assert list(by_name) == [f.column for f in fields]
    assert [by_name[f.column].null_ok for f in fields] == [f.null for f in fields]
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT column_name, collation_name FROM information_schema.columns"
                        " WHERE table_name = 'collector_record' AND collation_name = 'C'")
            assert {r[0] for r in cur.fetchall()} == {"id", "device_id", "venue_id", "issuer", "sub"}
            cur.execute("SELECT relkind FROM pg_class WHERE relname = 'collector_record'")
            assert cur.fetchone()[0] == "p"  # partitioned
