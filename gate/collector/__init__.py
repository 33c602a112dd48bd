"""The central collector of spec/upload.md and the operations console of spec/console.md, on Django.

`create_app` builds the WSGI application; `gate collector serve` runs it under waitress.
Modules: `app` (the WSGI app and one alias per collector), `api` (the device API views),
`ingest` (storing records, raw SQL), `records` (checking a RECORD, the plausible window),
`models` (the tables), `partitions` (PostgreSQL month partitions), `tracing` (contact tracing),
`devices`, `users`, `roles`, `audit`, `clients` (the client address through trusted proxies),
`lists` (the signed lists directory), `alerts` (alert log and webhook), `server` (waitress),
`runtime` (lists, clock and limits of the collector serving a request), `settings`,
`django_db` (the one way to choose a database). The throw-away PostgreSQL of the tests is
tests/postgreskit.py.
"""

MAX_RECORDS = 2000
MAX_BODY_BYTES = 8 * 1024 * 1024


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 (see gate.collector.app.create_app)
    """See `gate.collector.app.create_app` (imported lazily: Django loads on first use)."""
    from gate.collector.app import create_app as make

    return make(*args, **kwargs)


__all__ = ["MAX_BODY_BYTES", "MAX_RECORDS", "create_app"]
