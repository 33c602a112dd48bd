"""`gate collector set-site` (a city names itself and publishes) and `gate collector province ...`
(the province subscribes to cities and shows how far behind each is); spec/province.md."""

from __future__ import annotations

import json

import click

from gate.cli.collector_db import DB_HELP, DEFAULT_DB, database
from gate.cli.errors import fail


@click.command("set-site")
@click.argument("site_id")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True, help=DB_HELP)
def set_site(site_id: str, db_url: str) -> None:
    """Name this city's collector database SITE_ID (once) and publish its tables to the province."""
    from gate.collector.audit import audit_command
    from gate.collector.province.site import SiteError, check_site_id, instructions
    from gate.collector.province.site import set_site as name_site

    try:
        check_site_id(site_id)
    except SiteError as exc:
        fail(f"{exc}.")
    with database(db_url) as alias:
        try:
            report = name_site(alias, site_id)
        except SiteError as exc:
            fail(f"{exc}.")
        if report.named_now:
            audit_command("site.name", {"site_id": site_id})
    click.echo(f"this collector is city {site_id}; its records, alerts, devices, heartbeats and "
               "audit log are published to the province (publication gate_province)")
    for line in instructions(report):
        click.echo(line)
    for missing in report.missing:
        click.echo(f"not ready for the province: {missing} (set it in postgresql.conf and "
                   "restart PostgreSQL)", err=True)


@click.group()
def province() -> None:
    """The province's collector: every city's rows by PostgreSQL logical replication."""


@province.command("add-city")
@click.argument("site_id")
@click.option("--dsn", required=True,
              help="The city's collector database: postgresql://USER[:PASSWORD]@HOST:PORT/DB "
                   "(a role with REPLICATION).")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True,
              help="The province's database (" + DB_HELP + "), as a superuser role.")
@click.option("--resync", is_flag=True,
              help="Copy the city again (after its slot was lost); rows the province holds stay.")
def add_city(site_id: str, dsn: str, db_url: str, resync: bool) -> None:
    """Subscribe the province to city SITE_ID (which named itself with set-site)."""
    from gate.collector.audit import audit_command
    from gate.collector.province.cities import CityError
    from gate.collector.province.cities import add_city as subscribe
    from gate.collector.province.cities import without_password
    from gate.collector.province.site import SiteError

    if not db_url.startswith(("postgresql://", "postgres://")):
        fail("the province's database must be PostgreSQL: --db postgresql://USER@HOST:PORT/DB.")
    with database(db_url) as alias:
        try:
            line = subscribe(alias, site_id, dsn, resync=resync)
        except (CityError, SiteError) as exc:
            fail(f"{exc}.")
        audit_command("province.resync" if resync else "province.add_city",
                      {"site_id": site_id, "dsn": without_password(dsn)})
    click.echo(line)


@province.command("cities")
@click.option("--db", "db_url", default=DEFAULT_DB, show_default=True,
              help="The province's database (" + DB_HELP + ").")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per city, one a line.")
def cities(db_url: str, as_json: bool) -> None:
    """Each city: lag in bytes and seconds (age of the oldest change not applied), last applied."""
    from gate.collector.province.cities import city_states
    from gate.collector.province.schema import ensure_months

    if not db_url.startswith(("postgresql://", "postgres://")):
        fail("the province's database must be PostgreSQL: --db postgresql://USER@HOST:PORT/DB.")
    with database(db_url) as alias:
        ensure_months(alias)
        states = city_states(alias)
    if not states and not as_json:
        click.echo("no city yet: add one with 'gate collector province add-city SITE_ID --dsn ...'")
    for state in states:
        if as_json:
            click.echo(json.dumps(state.to_json(), sort_keys=True))
            continue
        lag = ("lag unknown" if state.lag_bytes is None
               else f"lag {state.lag_bytes} bytes, {state.lag_s:g} s")
        mark = "  BEHIND" if state.behind else ""
        click.echo(f"{state.site_id}  {state.state}  {lag}  last applied "
                   f"{state.last_applied_at or 'never'}{mark}"
                   + (f"  ({state.detail})" if state.detail else ""))
