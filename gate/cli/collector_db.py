"""The collector's database for `gate collector` commands: the default URL, and opening it (created
or migrated) with one-line errors."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from gate.cli.errors import fail

DEFAULT_DB = "sqlite:///collector.db"
DB_HELP = "sqlite:///PATH or postgresql://USER@HOST:PORT/DB"


@contextmanager
def database(db_url: str) -> Iterator[str]:
    """Make the collector database at `db_url` current (created or migrated); one-line errors."""
    from django.db import DatabaseError

    from gate.collector import django_db

    try:
        alias = django_db.database_alias(db_url)
    except ValueError as exc:
        fail(str(exc))
    except DatabaseError as exc:
        fail(f"cannot open the database {db_url}: {str(exc).strip().splitlines()[0]}", 1)
    try:
        with django_db.activate(alias):
            yield alias
    except DatabaseError as exc:
        fail(f"database error: {str(exc).strip().splitlines()[0]}", 1)
    finally:
        django_db.close_alias(alias)
