"""The live view: while the screen is idle, a small JPEG of the camera now and then."""

from __future__ import annotations

import logging

import cv2

from gate.kiosk.screen import Display
from gate.vision.sources import Frame

log = logging.getLogger(__name__)

LIVE_VIEW_EVERY_S = 0.25  # live view frames pushed to the screen while idle
SIZE = (320, 240)
JPEG_QUALITY = 60


def encode_jpeg(frame: Frame) -> bytes | None:
    """The frame made small and encoded as JPEG; None when OpenCV cannot encode it."""
    small = cv2.resize(frame.image, SIZE, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return jpeg.tobytes() if ok else None


class LiveView:
    """Encodes and pushes a frame at most every `every_s` of the kiosk's timeline."""

    def __init__(self, display: Display | None, every_s: float = LIVE_VIEW_EVERY_S) -> None:
        self.display = display
        self.every_s = every_s
        self._last = -1e9

    def due(self, now: float) -> bool:
        """True when there is a screen and the last frame is at least `every_s` old."""
        return self.display is not None and now - self._last >= self.every_s

    def push(self, frame: Frame, now: float) -> None:
        """Encode `frame` and make it the screen's newest picture."""
        self._last = now
        jpeg = encode_jpeg(frame)
        if jpeg is None or self.display is None:
            return
        try:
            self.display.publish_frame(jpeg)
        except Exception:  # noqa: BLE001  (a screen fault must not stop the gate)
            log.warning("live view frame not shown", exc_info=True)
