"""One line of a check's report (`gate doctor`, the setup page): the value every check returns.

It sits low so that any floor can report a check (the bulletins' lines come from
gate.directives.check) without importing gate.health, which runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS: tuple[str, ...] = ("OK", "WARN", "FAIL")  # works / works, but look at it / will not work properly


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    level: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "message": self.message, **self.details}
