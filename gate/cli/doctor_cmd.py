"""`gate doctor --config FILE [--json]`: is this gate fit to run? One line per check.

The checks themselves live in gate.health. Exit status 0 without FAIL, 1 with any FAIL, 2 for a
configuration that cannot be loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gate.cli.errors import load_config_or_fail
from gate.health import CheckResult, check_thermometer, run_checks

__all__ = ["CheckResult", "check_thermometer", "doctor", "run_checks"]

DEFAULT_CONFIG = "/etc/gate/gate.toml"


@click.command("doctor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every check's result.")
def doctor(config_path: Path, as_json: bool) -> None:
    """Health check: camera, thermometer, clock, trust and status lists, device key, store and queue, collector."""
    cfg = load_config_or_fail(config_path)
    results = run_checks(cfg)
    failed = any(r.level == "FAIL" for r in results)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [r.to_json() for r in results]}, ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r.level:<4}  {r.name}: {r.message}")
    click.get_current_context().exit(1 if failed else 0)
