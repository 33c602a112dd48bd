"""A running gate for the setup page's tests: a real kiosk (real decoder, pipeline, SQLite store,
MockFactory pins, the MLX90614 driver on the fake SMBus) fed frames by the test, with its control
channel and SIGHUP reload attached exactly as `gate run` attaches them, and the setup page's
real HTTPS server on loopback."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests

from gate.codes import keys as keylib
from gate.config import load_config
from gate.hardware.thermometer import MLX90614
from gate.kiosk import Kiosk
from gate.pipeline import ScanOutcome, open_pipeline
from gate.vision.sources import Frame, FrameSource, SourceState
from gate.vision.synthetic import code_picture
from tests.hardware.conftest import FakeMLX90614Bus
from tests.pki import NOW

PASSWORD = "correct horse battery"

CONFIG = """\
# The test gate: a residential compound's north gate.
[device]
id = "gate-test-0001"
key = "keys/device.key"              # made at provisioning; never shown by the setup page

[venue]
id = "360102-012-north-gate"
type = "residential"                 # residential | public_place | metro | bus_taxi | special_place
community_codes = ["360102-012"]     # the compound this gate serves

[temperature]
sensor = "mlx90614"
offset_c = 0.0                       # calibration, added to the reading

[trust]
dir = "{trust}"

[camera]
source = "frames"
debounce_s = 3.0

[store]
path = "var/scans.db"

[setup]
enabled = true
listen = "127.0.0.1:8443"
password_hash = "{hash}"             # gate setup passwd
"""


def write_gate(folder: Path, trust_dir: Path, password_hash: str) -> Path:
    """A gate's folder: configuration (with comments), device key, a frames folder; returns the file."""
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    keylib.write_private_key(folder / "keys" / "device.key", keylib.generate("EdDSA"))
    (folder / "frames").mkdir(exist_ok=True)
    import cv2

    cv2.imwrite(str(folder / "frames" / "0001.png"), np.full((48, 64, 3), 200, np.uint8))
    path = folder / "gate.toml"
    path.write_text(CONFIG.format(trust=trust_dir, hash=password_hash))
    return path


class FedSource(FrameSource):
    """A camera whose frames the test hands over one by one (`feed`)."""

    name = "fed"

    def __init__(self) -> None:
        super().__init__()
        self._frames: queue.Queue[np.ndarray] = queue.Queue()
        self._index = 0

    @property
    def live(self) -> bool:
        return True

    def feed(self, image: np.ndarray) -> None:
        self._frames.put(image)

    def read(self) -> Frame | None:
        if self._state is not SourceState.OPEN:
            return None
        try:
            image = self._frames.get(timeout=0.05)
        except queue.Empty:
            return None
        self._index += 1
        return Frame(image, self._index * 0.1, self._index)


@dataclass
class RunningGate:
    """A kiosk running in a thread on fed frames, with `gate run`'s reload and control channel."""

    config_path: Path
    kiosk: Kiosk
    source: FedSource
    bus: FakeMLX90614Bus
    outcomes: list[ScanOutcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    detach: Any = None
    handled: int = 0
    _handled_cond: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls, config_path: Path, display: Any = None) -> "RunningGate":
        from gate.reload import attach

        config = load_config(config_path)
        bus = FakeMLX90614Bus(object_c=36.21, ambient_c=24.0)  # 36.21 exactly in the sensor's 0.02 K steps
        thermometer = MLX90614(bus, config.temperature.i2c_address, offset_c=config.temperature.offset_c,
                               sleep=lambda s: None)
        pipeline = open_pipeline(config, simulated_io=True, thermometer=thermometer, persist_floor=False,
                                 clock=lambda: NOW)
        source = FedSource()
        kiosk = Kiosk(pipeline, source, display=display)
        gate = cls(config_path, kiosk, source, bus)
        kiosk.on_outcome = gate.outcomes.append
        handle_frame = kiosk.handle_frame

        def counted(*args: Any) -> list[ScanOutcome]:
            try:
                return handle_frame(*args)
            finally:
                with gate._handled_cond:
                    gate.handled += 1
                    gate._handled_cond.notify_all()

        kiosk.handle_frame = counted  # type: ignore[method-assign]
        gate.detach = attach(kiosk, config, config_path)
        gate.thread = threading.Thread(target=kiosk.run, args=(gate.stop,), name="test-kiosk", daemon=True)
        gate.thread.start()
        return gate

    def show(self, image: np.ndarray, timeout: float = 10.0) -> None:
        """One frame, handled by the kiosk before this returns."""
        with self._handled_cond:
            n = self.handled + 1
        self.source.feed(image)
        self.wait_handled(n, timeout)

    def wait_handled(self, n: int, timeout: float = 10.0) -> None:
        with self._handled_cond:
            assert self._handled_cond.wait_for(lambda: self.handled >= n, timeout), \
                f"the kiosk handled {self.handled} of {n} frames"

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)
        self.detach()
        self.kiosk.pipeline.close()


def code_frame(text: str) -> np.ndarray:
    return code_picture(text, background_level=255)


def blank_frame() -> np.ndarray:
    return np.full((480, 640, 3), 255, np.uint8)


class SetupClient:
    """requests against the setup page over HTTPS, trusting only the gate's own certificate."""

    def __init__(self, base: str, cert: Path) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override the session's verify
        self.http.verify = str(cert)
        self.csrf: str | None = None

    def login(self, password: str = PASSWORD) -> requests.Response:
        answer = self.http.post(self.base + "/setup/api/login", json={"password": password}, timeout=30)
        if answer.status_code == 200:
            self.csrf = answer.json()["csrf_token"]
        return answer

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, body: Any = None, csrf: bool = True, **kw: Any) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        return self.http.post(self.base + path, json=body if body is not None else {}, headers=headers,
                              timeout=30, **kw)


class Screen:
    """The gate's screen as the kiosk drives it (gate.display.DisplayApp, the real one), read back
    as what it shows: the panel's state, the fault lines and whether the gate is shut."""

    def __init__(self) -> None:
        from gate.display.app import DisplayApp

        self.app = DisplayApp()

    def publish(self, state: dict[str, Any]) -> None:
        self.app.publish(state)

    def publish_frame(self, jpeg: bytes) -> None:
        self.app.publish_frame(jpeg)

    def lines(self) -> list[str]:
        """Each fault line as the screen writes it: "中文 · English"."""
        return [f"{f['zh']} · {f['en']}" for f in self.app.snapshot()["fault_lines"]]

    @property
    def shut(self) -> bool:
        return bool(self.app.snapshot()["gate_shut"])
