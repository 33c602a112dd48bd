"""The one way a `gate` command fails: one plain sentence on stderr, exit status 2 (cli.md)."""

from __future__ import annotations

from typing import IO, Any, NoReturn

import click


class GateCommandError(click.ClickException):
    """A usage or configuration error: printed as the message alone, exit status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True, file=file)


def fail(message: str) -> NoReturn:
    """Stop the command with `message` (one sentence that says what to fix)."""
    raise GateCommandError(message)
