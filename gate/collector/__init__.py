"""The central collector of spec/upload.md and the operations console of spec/console.md, on Django.

`create_app` builds the WSGI application; `gate collector serve` runs it under waitress.
Modules: `app` (the WSGI app and one alias per collector), `api` (the device API views),
`ingest` (storing records, raw SQL), `records` (checking a RECORD), `models` (the tables),
`partitions` (PostgreSQL month partitions), `tracing` (contact tracing), `devices`, `users`,
`roles`, `audit`, `lists` (the signed lists directory), `alerts` (alert log and webhook),
`server` (waitress), `testing` (a throw-away PostgreSQL for tests), `settings`, `django_db`.
"""

MAX_RECORDS = 2000
MAX_BODY_BYTES = 8 * 1024 * 1024


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 (see gate.collector.app.create_app)
    """See `gate.collector.app.create_app` (imported lazily: Django loads on first use)."""
    from gate.collector.app import create_app as make

    return make(*args, **kwargs)


__all__ = ["MAX_BODY_BYTES", "MAX_RECORDS", "create_app"]
