"""`gate run` refusing to start: any GateError from assembling the gate is one line and exit 2."""

from __future__ import annotations

from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

import gate.cli.run_cmd as run_cmd
from gate.codes.trust import TrustError
from gate.errors import GateError
from gate.hardware.body import HardwareError
from gate.hardware.thermometer import SensorError
from gate.store import StoreUnavailable
from gate.vision.sources import SourceError

CONFIG = SimpleNamespace(trust=SimpleNamespace(dir="/etc/gate/trust"))


def _start_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> click.testing.Result:
    def assemble(config, **kwargs):
        raise error

    monkeypatch.setattr(run_cmd, "assemble", assemble)

    @click.command()
    def start() -> None:
        run_cmd.start_appliance(CONFIG)

    return CliRunner().invoke(start, [])


@pytest.mark.parametrize("error, line", [
    (SourceError("camera /dev/video0: no such device"), "camera /dev/video0: no such device"),
    (TrustError("no anchor"), "Cannot use the trust folder /etc/gate/trust: no anchor"),
    (HardwareError("GPIO17 is busy"), "GPIO17 is busy (use --simulate-io to run without pins)"),
    # Subsystems that used to escape as a traceback: any GateError is caught, once.
    (SensorError("no I2C bus 1", transient=False), "no I2C bus 1"),
    (StoreUnavailable("store /var/lib/gate/scans.db: disk I/O error"), "store /var/lib/gate/scans.db: disk I/O error"),
])
def test_a_gate_that_cannot_start_says_why_in_one_line_and_exits_2(monkeypatch, error, line):
    result = _start_with(monkeypatch, error)
    assert result.exit_code == 2
    assert result.output.strip() == line
    assert "Traceback" not in result.output


def test_a_programming_fault_is_not_dressed_up_as_a_one_line_failure(monkeypatch):
    result = _start_with(monkeypatch, TypeError("bug"))
    assert isinstance(result.exception, TypeError)


def test_every_error_caught_is_a_gate_error():
    assert all(issubclass(e, GateError) for e in (SourceError, TrustError, HardwareError, SensorError, StoreUnavailable))
