"""`gate doctor --config FILE [--json]`: is this gate fit to run? One line per check.

The checks themselves live in gate.health, and the setup page's in gate.setup.check (a floor above
health, so the command puts them together: `DOCTOR_CHECKS`). Exit status 0 without FAIL, 1 with any FAIL, 2 for a
configuration that cannot be loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gate.cli.errors import load_config_or_fail
from gate.health import CHECKS, CheckResult, check_bulletin, check_thermometer, run_checks
from gate.setup.check import check_setup

__all__ = ["CheckResult", "DOCTOR_CHECKS", "check_thermometer", "doctor", "run_checks"]

# gate.health's checks with the setup page's before the bulletins' (the order the report reads in).
DOCTOR_CHECKS = [*(c for c in CHECKS if c is not check_bulletin), check_setup, check_bulletin]

DEFAULT_CONFIG = "/etc/gate/gate.toml"


@click.command("doctor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every check's result.")
def doctor(config_path: Path, as_json: bool) -> None:
    """Health check: camera, thermometer, clock, trust and status lists, device key, store and queue, collector."""
    cfg = load_config_or_fail(config_path)
    results = run_checks(cfg, DOCTOR_CHECKS)
    failed = any(r.level == "FAIL" for r in results)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [r.to_json() for r in results]}, ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r.level:<4}  {r.name}: {r.message}")
    click.get_current_context().exit(1 if failed else 0)
