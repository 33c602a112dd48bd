"""The `gate` command (spec/cli.md): one click group whose sub-commands live in their own modules.

Sub-commands are imported only when invoked, so `gate verify` does not pay for OpenCV, and a
broken optional part (no camera library on a collector host) never stops the others.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

from gate.cli.errors import GateCommandError

# name -> "module:attribute" of a click command or group
COMMANDS: dict[str, str] = {
    "verify": "gate.cli.verify_cmd:verify",
    "keys": "gate.cli.keys_cmd:keys",
    "code": "gate.cli.code_cmd:code",
    "scan-image": "gate.cli.scan_image_cmd:scan_image",
    "config": "gate.cli.config_cmd:config",
    "replay": "gate.cli.replay_cmd:replay",
    "hardware": "gate.cli.hardware_cmd:hardware",
    "doctor": "gate.cli.doctor_cmd:doctor",
    "sync": "gate.cli.sync_cmd:sync",
    "collector": "gate.cli.collector_cmd:collector",
    "run": "gate.cli.run_cmd:run",
    "demo": "gate.cli.demo_cmd:demo",
    "setup": "gate.cli.setup_cmd:setup",
}


def one_line_usage_error(exc: click.UsageError) -> click.ClickException:
    """click's usage error (usage, a hint and the error: four lines) as cli.md's one sentence:
    ``gate collector add-user: Missing option '--role' (see gate collector add-user --help).``"""
    if isinstance(exc, NoArgsIsHelpError):  # a group given nothing: its help, as click shows it
        return exc
    where = exc.ctx.command_path if exc.ctx is not None else "gate"
    message = " ".join(exc.format_message().split()).rstrip(".")
    return GateCommandError(f"{where}: {message} (see {where} --help).", exc.exit_code)


class LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use, and gives every usage
    error of the commands beneath it in one line (`one_line_usage_error`)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise one_line_usage_error(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise one_line_usage_error(exc) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # not built yet
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gate")
def main() -> None:
    """Health-code gate scanner: verify codes, decide at the gate, record and sync."""
