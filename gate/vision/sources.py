"""Frame sources: where the gate's camera frames come from, behind one small interface.

`open_source(cfg.camera)` picks the backend from `camera.source` (spec/config.md):

- "0", "1", ... or "/dev/video0": a USB/CSI camera through V4L2 (`V4L2Source`). Wiring: plug a
  UVC camera into a USB port (or a CSI camera with the V4L2 driver); `v4l2-ctl --list-devices`
  names it. Frames are asked for as MJPG at `camera.width` x `camera.height`; `camera.exposure`
  (V4L2 units of 100 us, e.g. 100 = 10 ms) turns auto-exposure off, which phone screens need:
  they are emissive, and auto-exposure set for the room washes the code out.
- "picamera2": the Raspberry Pi camera module through picamera2 (`Picamera2Source`), imported only
  when chosen; it comes from Raspberry Pi OS's packages (`apt install python3-picamera2`), not pip.
- a video file (`VideoFileSource`) or a folder of images (`ImageFolderSource`): footage for
  demos, tests and replays, read once to the end.

Every frame carries `t`, seconds on the source's own timeline: the footage's timestamps for a
file or folder, a monotonic clock for a camera (never the wall clock, which may jump).

A camera that stops delivering frames is not skipped over in silence: the source goes `lost`,
tells `on_state` and the log, and reopens the device with exponential backoff (`reconnecting`,
then `open` again). `read()` returns None meanwhile, never blocking longer than `poll_s`, so the
kiosk's loop stays responsive and shows the attendant that the camera is gone.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from gate.errors import GateError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"})


class SourceError(GateError):
    """The configured source cannot be used at all (no such file, not a video, ...)."""


class SourceState(str, Enum):
    """What a source is doing; `str` so it can go straight into JSON and logs."""

    OPEN = "open"                  # delivering frames
    LOST = "lost"                  # a camera stopped delivering; waiting to retry
    RECONNECTING = "reconnecting"  # trying to reopen the camera now
    ENDED = "ended"                # footage read to the end (files and folders only)
    CLOSED = "closed"              # close() was called


@dataclass(frozen=True, slots=True)
class Frame:
    """One camera frame: 8-bit BGR (or grey) pixels, time on the source's timeline, its number."""

    image: np.ndarray
    t: float
    index: int


StateCallback = Callable[[SourceState, str], None]


class FrameSource(ABC):
    """Frames in order. `read()` gives the next Frame, or None when there is none right now;
    `state` says why (lost camera, end of footage). Iterating yields frames until ENDED/CLOSED.
    `close()` is safe to call twice; a source is also a context manager."""

    name: str = "source"

    def __init__(self, on_state: StateCallback | None = None) -> None:
        self._state = SourceState.OPEN
        self._on_state = on_state
        self.last_error: str | None = None

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def live(self) -> bool:
        """True for a camera (real time), False for footage (its own timeline)."""
        return False

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None (see `state`)."""

    def close(self) -> None:
        self._set_state(SourceState.CLOSED, "closed")

    def _set_state(self, state: SourceState, detail: str) -> None:
        if state is self._state:
            return
        self._state = state
        level = logging.WARNING if state in (SourceState.LOST, SourceState.RECONNECTING) else logging.INFO
        log.log(level, "camera source %s: %s (%s)", self.name, state.value, detail)
        if self._on_state is not None:
            self._on_state(state, detail)

    def __iter__(self) -> Iterator[Frame]:
        while self._state not in (SourceState.ENDED, SourceState.CLOSED):
            frame = self.read()
            if frame is not None:
                yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- footage -----------------------------------------------------------------------------------


class VideoFileSource(FrameSource):
    """A video file read once, with the file's own frame timestamps as `t`."""

    def __init__(self, path: str | Path, on_state: StateCallback | None = None) -> None:
        super().__init__(on_state)
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise SourceError(f"camera.source: no video file at {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"camera.source: {self.path} is not a video OpenCV can read")
        self._fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self._index = 0
        self._last_t = -1.0

    def read(self) -> Frame | None:
        if self._state is not SourceState.OPEN:
            return None
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            self._set_state(SourceState.ENDED, f"end of footage after {self._index} frames")
            return None
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t <= self._last_t and self._fps > 0:  # a container without usable timestamps
            t = self._index / self._fps
        self._last_t = t
        frame = Frame(image, t, self._index)
        self._index += 1
        return frame

    @property
    def fps(self) -> float:
        return self._fps

    def close(self) -> None:
        self._cap.release()
        super().close()


class ImageFolderSource(FrameSource):
    """The images of a folder in name order, one every frame_interval_s of footage time.

    An image that cannot be read is logged and counted in `unreadable`, and its slot on the
    timeline is kept, so the times of the others do not depend on it.
    """

    def __init__(self, path: str | Path, frame_interval_s: float = 0.1,
                 on_state: StateCallback | None = None) -> None:
        super().__init__(on_state)
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_dir():
            raise SourceError(f"camera.source: no image folder at {self.path}")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise SourceError(f"camera.source: {self.path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.frame_interval_s = frame_interval_s
        self.unreadable = 0
        self._index = 0

    def read(self) -> Frame | None:
        while self._state is SourceState.OPEN:
            if self._index >= len(self.files):
                self._set_state(SourceState.ENDED, f"end of footage after {len(self.files)} images")
                return None
            i = self._index
            self._index += 1
            image = cv2.imread(str(self.files[i]), cv2.IMREAD_COLOR)
            if image is None:
                self.unreadable += 1
                log.warning("camera source %s: cannot read image %s; skipped", self.name, self.files[i].name)
                continue
            return Frame(image, i * self.frame_interval_s, i)
        return None


# --- cameras -----------------------------------------------------------------------------------


class Capture(Protocol):
    """What V4L2Source needs of cv2.VideoCapture (so tests can pass a capture that fails)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def release(self) -> None: ...
    def set(self, prop: int, value: float) -> bool: ...


class _ReconnectingCamera(FrameSource):
    """A live camera that is reopened with exponential backoff whenever it stops delivering."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 on_state: StateCallback | None = None, backoff_s: float = 0.5, backoff_max_s: float = 10.0,
                 poll_s: float = 0.2) -> None:
        super().__init__(on_state)
        self.clock = clock
        self.sleep = sleep
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.poll_s = poll_s
        self.reconnects = 0  # successful reopenings after the first opening
        self._ever_opened = False
        self._delay = backoff_s
        self._next_attempt = 0.0
        self._index = 0
        self._state = SourceState.RECONNECTING
        self._attempt()  # a camera absent at start is "lost", not a crash: it may be plugged in

    @property
    def live(self) -> bool:
        return True

    @abstractmethod
    def _open(self) -> None:
        """Open the device; raise OSError (or any error from the driver) when it is not there."""

    @abstractmethod
    def _grab(self) -> np.ndarray | None:
        """One image from the open device, or None when it delivered nothing."""

    @abstractmethod
    def _release(self) -> None:
        """Let go of the device; safe when it is not open."""

    def read(self) -> Frame | None:
        if self._state is SourceState.CLOSED:
            return None
        if self._state is SourceState.OPEN:
            try:
                image = self._grab()
            except Exception as exc:  # noqa: BLE001 -- any driver failure means the camera is lost
                image = None
                self.last_error = f"{type(exc).__name__}: {exc}"
            if image is not None:
                return self._frame(image)
            self._lose(self.last_error or "no frame from the camera")
            return None
        wait = self._next_attempt - self.clock()
        if wait > 0:
            self.sleep(min(wait, self.poll_s))
            if self._next_attempt - self.clock() > 0:
                return None
        self._attempt()
        return None

    def _frame(self, image: np.ndarray) -> Frame:
        frame = Frame(image, self.clock(), self._index)
        self._index += 1
        return frame

    def _lose(self, detail: str) -> None:
        self._release()
        self._delay = self.backoff_s
        self._next_attempt = self.clock() + self._delay
        self._set_state(SourceState.LOST, detail)

    def _attempt(self) -> None:
        self._set_state(SourceState.RECONNECTING, f"opening {self.name}")
        try:
            self._open()
        except Exception as exc:  # noqa: BLE001 -- a device that will not open is retried later
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._release()
            self._next_attempt = self.clock() + self._delay
            self._delay = min(self._delay * 2, self.backoff_max_s)
            self._set_state(SourceState.LOST, f"cannot open {self.name} ({self.last_error}); retry in {self._next_attempt - self.clock():.1f} s")
            return
        if self._ever_opened:
            self.reconnects += 1
        self._ever_opened = True
        self._delay = self.backoff_s
        self.last_error = None
        self._set_state(SourceState.OPEN, f"{self.name} open")

    def close(self) -> None:
        self._release()
        super().close()


def _default_capture(device: int | str) -> Capture:
    return cv2.VideoCapture(device, cv2.CAP_V4L2)


class V4L2Source(_ReconnectingCamera):
    """A V4L2 camera (USB webcam, CSI camera with a V4L2 driver) by index or device path.

    capture_factory(device) makes the capture (default cv2.VideoCapture(device, CAP_V4L2)); tests
    pass one that fails and recovers. exposure: None = the camera's auto-exposure; a number = manual
    exposure in V4L2 units of 100 us (try 50-200 for phone screens indoors).
    """

    def __init__(self, device: int | str = 0, width: int = 640, height: int = 480, exposure: int | None = None,
                 *, capture_factory: Callable[[int | str], Capture] = _default_capture, **kwargs: Any) -> None:
        self.device = device
        self.name = f"/dev/video{device}" if isinstance(device, int) else str(device)
        self.width, self.height, self.exposure = width, height, exposure
        self._factory = capture_factory
        self._cap: Capture | None = None
        super().__init__(**kwargs)

    def _open(self) -> None:
        cap = self._factory(self.device)
        self._cap = cap
        if not cap.isOpened():
            raise OSError(f"{self.name} did not open")
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one from a second ago
        if self.exposure is not None:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)  # V4L2_EXPOSURE_MANUAL
            cap.set(cv2.CAP_PROP_EXPOSURE, float(self.exposure))
        else:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 3)  # V4L2_EXPOSURE_APERTURE_PRIORITY (auto)

    def _grab(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    def _release(self) -> None:
        if self._cap is not None:
            try:
                self._cap.release()
            except Exception as exc:  # noqa: BLE001 -- releasing a vanished device may fail; it is gone anyway
                log.debug("release of %s failed: %s", self.name, exc)
            self._cap = None


class Picamera2Source(_ReconnectingCamera):
    """The Raspberry Pi camera module (CSI ribbon into the Pi's CAMERA port) through picamera2.

    picamera2 is imported here only, so other hosts never need it. exposure: as V4L2Source
    (units of 100 us), converted to picamera2's microseconds.
    """

    name = "picamera2"

    def __init__(self, width: int = 640, height: int = 480, exposure: int | None = None, **kwargs: Any) -> None:
        self.width, self.height, self.exposure = width, height, exposure
        self._cam: Any = None
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]
        except ImportError as exc:
            raise SourceError("camera.source \"picamera2\" needs picamera2: apt install python3-picamera2") from exc
        self._picamera2 = Picamera2
        super().__init__(**kwargs)

    def _open(self) -> None:
        cam = self._picamera2()
        self._cam = cam
        # picamera2's "RGB888" is laid out B, G, R in memory: exactly OpenCV's BGR
        cam.configure(cam.create_video_configuration(main={"size": (self.width, self.height), "format": "RGB888"}))
        if self.exposure is not None:
            cam.set_controls({"AeEnable": False, "ExposureTime": int(self.exposure) * 100})
        cam.start()

    def _grab(self) -> np.ndarray | None:
        return None if self._cam is None else self._cam.capture_array("main")

    def _release(self) -> None:
        if self._cam is not None:
            try:
                self._cam.close()
            except Exception as exc:  # noqa: BLE001 -- see V4L2Source._release
                log.debug("close of picamera2 failed: %s", exc)
            self._cam = None


# --- choosing ------------------------------------------------------------------------------------


def open_source(camera: Any, *, on_state: StateCallback | None = None,
                clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
                capture_factory: Callable[[int | str], Capture] | None = None) -> FrameSource:
    """The source that `camera.source` names (cfg.camera, a gate.config.CameraConfig).

    Raises SourceError for a file or folder that is missing or unreadable (a configuration
    error: the gate does not start). A camera that is missing is not an error here: the source
    starts `lost` and keeps trying, and its state says so.
    """
    spec = str(camera.source).strip()
    width, height = int(camera.width), int(camera.height)
    exposure = getattr(camera, "exposure", None)
    live: dict[str, Any] = {"on_state": on_state}
    if clock is not None:
        live["clock"] = clock
    if sleep is not None:
        live["sleep"] = sleep
    if spec == "picamera2":
        return Picamera2Source(width, height, exposure, **live)
    if spec.isdigit():
        device: int | str = int(spec)
    elif spec.startswith("/dev/"):
        device = spec
    else:
        path = Path(spec)
        if path.is_dir():
            return ImageFolderSource(path, on_state=on_state)
        if path.is_file():
            return VideoFileSource(path, on_state=on_state)
        raise SourceError(
            f"camera.source {spec!r} is not a camera index, a /dev/video device, \"picamera2\", "
            "an existing video file or an image folder"
        )
    if capture_factory is not None:
        live["capture_factory"] = capture_factory
    return V4L2Source(device, width, height, exposure, **live)
