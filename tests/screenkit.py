"""A stand-in for the kiosk's screen (gate.kiosk's Display protocol) that keeps what it was shown."""

from __future__ import annotations


class RecordingScreen:
    """Keeps every state the kiosk published; with `fail`, every publish raises as a lost screen would."""

    def __init__(self, fail: bool = False) -> None:
        self.states: list[dict] = []
        self.fail = fail

    def publish(self, state: dict) -> None:
        if self.fail:
            raise OSError("screen gone")
        self.states.append(state)

    def publish_frame(self, jpeg: bytes) -> None:
        pass
