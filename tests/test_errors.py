"""One error base: every error a subsystem raises on purpose is a GateError, and keeps its other bases."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import gate
from gate.errors import GateError

# Not errors of a subsystem: the CLI's own way out (a click exception that prints one line).
_NOT_SUBSYSTEM_ERRORS = {"gate.cli.errors.GateCommandError"}


def _gate_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(gate.__path__, "gate.") if not m.name.endswith("__main__")]


def _exception_classes() -> dict[str, type]:
    found = {}
    for name in _gate_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name
                    and not attr.startswith("_")):
                found[f"{name}.{attr}"] = value
    return found


def test_every_public_exception_class_of_the_gate_is_a_gate_error():
    classes = _exception_classes()
    assert len(classes) >= 15  # the subsystems' errors were found at all
    outside = sorted(n for n, c in classes.items() if not issubclass(c, GateError) and n not in _NOT_SUBSYSTEM_ERRORS)
    assert outside == []


@pytest.mark.parametrize("name, other_base", [
    ("gate.config.ConfigError", ValueError),
    ("gate.sync.SyncSetupError", ValueError),
    ("gate.collector.records.RecordError", ValueError),
    ("gate.cli.replay_cmd.EventError", ValueError),
    ("tests.postgreskit.PostgresUnavailable", RuntimeError),
])
def test_errors_keep_their_other_base_so_existing_handlers_still_catch_them(name, other_base):
    module, _, cls = name.rpartition(".")
    error = getattr(importlib.import_module(module), cls)("one line")
    assert isinstance(error, GateError) and isinstance(error, other_base)
    with pytest.raises(other_base):
        raise error


def test_a_code_format_error_is_a_gate_error_with_its_reason():
    from gate.codes.jkm1 import parse_text
    from gate.codes.result import FormatError

    with pytest.raises(GateError) as caught:
        parse_text("JKM1:A")
    assert isinstance(caught.value, FormatError) and caught.value.reason == "malformed"


def test_a_gate_error_is_not_a_programming_fault():
    assert not issubclass(GateError, (TypeError, AttributeError, KeyError, ValueError))
