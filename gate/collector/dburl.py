"""Database URLs (``sqlite:///PATH``, ``postgresql://USER[:PASS]@HOST[:PORT]/DB``) as Django settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SQLITE_PREFIX = "sqlite:///"


def database_settings(url: str) -> dict[str, Any]:
    """One entry of Django's ``DATABASES`` for `url`; ValueError for an unsupported URL."""
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX):]
        if not path:
            raise ValueError(f"unsupported database URL {url!r}: sqlite:/// has no file path")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "timeout": 10,
                "transaction_mode": "IMMEDIATE",
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                 " PRAGMA wal_autocheckpoint=10000;"),
            },
            "GATE_URL": url,
        }
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        options: dict[str, Any] = {"connect_timeout": 5}
        options.update(dict(parse_qsl(parts.query)))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": None,
            # no health check (a SELECT 1 per request): a connection broken by a database
            # restart fails one request (503, the gate retries) and is then replaced
            "OPTIONS": options,
            "GATE_URL": url,
        }
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")
