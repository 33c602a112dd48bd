"""What the setup page's app works on: one gate's configuration file, the helpers around it and the
running kiosk's control channel (gate.control)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from gate.control import KioskClient
from gate.setup.auth import Lockout, Sessions
from gate.setup.edit import ConfigEditor
from gate.setup.liveview import LiveView
from gate.setup.service import ServiceLease

MAX_STREAMS = 3  # live camera views open at once (each holds one server thread)


@dataclass
class SetupState:
    """The setup page's state for one gate: sessions, sign-in lockout, editor, live view, service mode."""

    config_path: Path
    state_dir: Path
    kiosk: KioskClient
    sessions: Sessions = field(default_factory=Sessions)
    lockout: Lockout | None = None
    editor: ConfigEditor | None = None
    live: LiveView | None = None
    service: ServiceLease | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    streams: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(MAX_STREAMS))

    def __post_init__(self) -> None:
        self.lockout = self.lockout or Lockout(self.state_dir / "lockout.json")
        self.editor = self.editor or ConfigEditor(self.config_path, self.state_dir / "changes.jsonl")
        self.live = self.live or LiveView(self.kiosk)
        self.service = self.service or ServiceLease(self.kiosk, self.editor.record)

    def stop(self) -> None:
        """The service stops: live views end, service mode ends (in the change log)."""
        self.stopping.set()
        self.service.stop()
