"""The one base of the errors the gate's subsystems raise on purpose.

Every such error (a bad configuration, an unusable trust folder, a camera that cannot be opened,
a pin that cannot be claimed, a store that cannot be opened, ...) derives from `GateError` and
carries a message that is one plain sentence saying what is wrong. So a caller that must turn
any of them into one line -- `gate run` refusing to start, the health check -- catches
`GateError` once instead of naming each subsystem's class. Each keeps its other bases
(`ConfigError` is still a `ValueError`), so existing `except ValueError` handlers still work.
Programming faults (TypeError, AttributeError, ...) are deliberately not GateErrors.
"""

from __future__ import annotations


class GateError(Exception):
    """An error of the gate's own, with a one-line message fit for an operator."""
