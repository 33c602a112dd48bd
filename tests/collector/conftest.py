"""A collector database made current for a test: `alias` on SQLite, `alias_both` on SQLite and on
PostgreSQL (started by the test run, tests/collectorkit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from gate.collector import django_db


def _current(url: str) -> Iterator[str]:
    name = django_db.database_alias(url)
    with django_db.activate(name):
        yield name
    django_db.close_alias(name)


@pytest.fixture
def alias(tmp_path: Path) -> Iterator[str]:
    yield from _current(f"sqlite:///{tmp_path / 'collector.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def alias_both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = (f"sqlite:///{tmp_path / 'collector.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_db_url"))
    yield from _current(url)
