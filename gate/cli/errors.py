"""The one way a `gate` command fails: one plain sentence on stderr, exit status 2 (cli.md)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from gate.config import Config


class GateCommandError(click.ClickException):
    """A command's failure: printed as the message alone; exit status 2 (usage or configuration)
    unless the command names another (1: something outside it, e.g. a database, is unavailable)."""

    exit_code = 2

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.exit_code = status

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True, file=file)


def fail(message: str, status: int = 2) -> NoReturn:
    """Stop the command with `message` (one sentence that says what to fix) and exit `status`."""
    raise GateCommandError(message, status)


def load_config_or_fail(path: "str | Path") -> "Config":
    """The configuration at `path`; a bad file stops the command with its one-line reason."""
    from gate.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
