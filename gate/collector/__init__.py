"""The central reference collector of spec/upload.md: records from a fleet of gates, stored once.

`create_app` builds the WSGI application; `gate collector serve` runs it under waitress.
Modules: `app` (HTTP), `db` (SQLite / PostgreSQL storage), `records` (checking a RECORD),
`lists` (the signed lists directory), `alerts` (alert log and webhook), `server` (waitress),
`testing` (a throw-away PostgreSQL for tests).
"""

from gate.collector.app import MAX_BODY_BYTES, MAX_RECORDS, CollectorApp, create_app

__all__ = ["MAX_BODY_BYTES", "MAX_RECORDS", "CollectorApp", "create_app"]
