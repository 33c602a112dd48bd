"""The one-line failure of every gate command (gate.cli.errors.fail)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from gate.cli.errors import fail


@click.command()
@click.option("--status", type=int, default=None)
def failing(status: int | None) -> None:
    if status is None:
        fail("the config file has no [venue] section")
    fail("the database is unavailable", status=status)


def test_fail_prints_the_sentence_alone_and_exits_2():
    result = CliRunner().invoke(failing, [])
    assert result.exit_code == 2
    assert result.output == "the config file has no [venue] section\n"


@pytest.mark.parametrize("status", [1, 3])
def test_fail_can_name_another_exit_status(status):
    result = CliRunner().invoke(failing, ["--status", str(status)])
    assert result.exit_code == status
    assert result.output == "the database is unavailable\n"


def test_the_collector_and_config_commands_fail_the_same_way():
    from gate.cli import collector_cmd, config_cmd

    assert collector_cmd.fail is fail and not hasattr(collector_cmd, "_fail")
    assert config_cmd.fail is fail and not hasattr(config_cmd, "_fail")


@pytest.mark.parametrize("args, says", [
    (["collector", "add-user", "ana", "--role", "boss"],
     "gate collector add-user: Invalid value for '--role': 'boss' is not one of 'viewer', 'tracer', 'admin' "
     "(see gate collector add-user --help)."),
    (["collector", "trace"], "gate collector trace: Missing option '--sub' (see gate collector trace --help)."),
    (["collector", "bogus"], "gate collector: No such command 'bogus' (see gate collector --help)."),
    (["--bogus"], "gate: No such option '--bogus' (see gate --help)."),
    (["keys", "new"], "gate keys new: Missing argument '{anchor|device|directive|issuer}'. Choose from: anchor, "
                      "device, directive, issuer (see gate keys new --help)."),
])
def test_a_usage_error_is_one_line_naming_the_command_and_exit_2(args, says):
    from gate.cli import main

    result = CliRunner().invoke(main, args, prog_name="gate")
    assert result.exit_code == 2
    assert result.stderr == says + "\n" and result.stdout == ""


def test_a_group_given_nothing_still_shows_its_help():
    from gate.cli import main

    result = CliRunner().invoke(main, ["collector"], prog_name="gate")
    assert "add-user" in result.output and "Usage: gate collector" in result.output
