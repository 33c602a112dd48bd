"""`gate config show|validate|set` (spec/cli.md): the technician's view of the configuration file.

`set` changes one key, checks the whole resulting file before writing it, writes it atomically
(a temporary file in the same folder, fsync, rename) and keeps the file's comments (tomlkit).
Every error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gate.cli.errors import fail, load_config_or_fail
import tomlkit

from gate.config import problems, show_value
from gate.configfile import edit_config, parse_value, write_atomically

__all__ = ["config", "parse_value", "write_atomically"]

DEFAULT_CONFIG = "/etc/gate/gate.toml"


def _config_option(f: Any) -> Any:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_CONFIG,
        show_default=True,
        help="The gate's configuration file.",
    )(f)


@click.group("config")
def config() -> None:
    """Show, check and change the gate's configuration file (spec/config.md)."""


@config.command("show")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def show(config_path: Path, as_json: bool) -> None:
    """Print the effective configuration: every key, defaults filled in, paths resolved."""
    cfg = load_config_or_fail(config_path)
    if as_json:
        click.echo(json.dumps(cfg.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"# effective configuration of {config_path} (defaults filled in, paths resolved)")
        click.echo(tomlkit.dumps(cfg.to_toml_dict()), nl=False)


@config.command("validate")
@_config_option
def validate(config_path: Path) -> None:
    """Check the file; exit 0 when the gate would start with it, 2 and every problem (one a line) when not."""
    found = problems(config_path)
    if found:
        for line in found:
            click.echo(line, err=True)
        click.get_current_context().exit(2)
    cfg = load_config_or_fail(config_path)
    click.echo(f"{config_path}: valid ({cfg.venue.type} gate {cfg.device.id} at {cfg.venue.id})")


# A VALUE may be a negative number ("-0.5"): unknown "options" are taken as the value.
@config.command("set", context_settings={"ignore_unknown_options": True})
@_config_option
@click.argument("key")
@click.argument("value")
def set_(config_path: Path, key: str, value: str) -> None:
    """Set KEY (SECTION.NAME, e.g. temperature.fever_c) to VALUE, written as in TOML.

    Strings need no quotes; lists are written as in TOML (`'["360102-012", "360102-013"]'`);
    a pin that is not fitted is `false`. The file is only written when the result is valid.
    """
    section, dot, name = key.partition(".")
    if not (dot and section and name) or "." in name:
        fail(f"{key}: a key is SECTION.NAME, e.g. venue.type or temperature.fever_c")
    new = parse_value(key, value)
    # the same writer as the setup page and the venue card (gate.configfile); a file that is valid
    # TOML but invalid may be repaired one key at a time, so only the result's validity is required
    result = edit_config(config_path, {key: new}, startable=False)
    if result.errors:
        fail(result.errors[0])
    click.echo(f"{config_path}: [{section}] {name} = {show_value(new)}")
