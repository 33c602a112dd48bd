"""One Django process, several collectors: each database its own alias, chosen per request."""

from __future__ import annotations

import subprocess
import sys

from gate.collector import django_db
from gate.collector.models import Record


def test_two_collectors_in_one_process_keep_their_own_records(collector_factory, make_record,
                                                               postgres_db_url):
    first = collector_factory()
    second = collector_factory(postgres_db_url)
    assert first.app.alias != second.app.alias
    first.upload([make_record() for _ in range(3)])
    second.upload([make_record() for _ in range(5)])
    assert (first.db.count_records(), second.db.count_records()) == (3, 5)
    with first.app.activate():
        assert Record.objects.count() == 3
    with second.app.activate():
        assert Record.objects.count() == 5


def test_the_same_url_is_the_same_alias(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert django_db.database_alias(url) == django_db.database_alias(url)


def test_collector_processes_starting_together_migrate_one_database_once(postgres_db_url):
    code = ("from gate.collector import django_db; "
            f"django_db.database_alias({postgres_db_url!r}); print('ready')")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in results]
    assert [out.strip() for out, _ in results] == ["ready"] * 3
