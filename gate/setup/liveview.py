"""The setup page's live camera view: the kiosk's newest frame with every found code outlined.

The frame comes from the running kiosk (gate.control); this process finds the codes in it with
zxing-cpp, which gives each code's corners, draws them and the code's text, and keeps the last
few seconds' figures for aiming and focusing: the camera's frame rate (the kiosk's own frame
count), the rate at which this view gets frames, and the share of those in which a code was read.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import zxingcpp

from gate.codes import formats
from gate.control import KioskClient

WINDOW_S = 5.0
TEXT_SHOWN = 48  # characters of a code's text drawn on the view


@dataclass(frozen=True)
class FoundCode:
    """One code in a frame: its text and its four corners (x, y) in the frame's pixels."""

    text: str
    corners: tuple[tuple[int, int], ...]
    valid: bool

    @property
    def format(self) -> str | None:
        """The code format its text is of, by prefix (JKM1, DCC, SHC, JKMV1), None for another text."""
        fmt = formats.format_of(self.text) if self.valid else None
        return fmt.name if fmt is not None else None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "corners": [list(c) for c in self.corners], "valid": self.valid,
                "format": self.format}


def find_codes(image: np.ndarray) -> list[FoundCode]:
    """Every QR code zxing-cpp locates in `image`, read or not (an unread one is outlined red)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    found = []
    for code in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, return_errors=True):
        p = code.position
        corners = tuple((int(c.x), int(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
        found.append(FoundCode(code.text if code.valid else "", corners, bool(code.valid)))
    return found


def outline(image: np.ndarray, codes: list[FoundCode]) -> np.ndarray:
    """A copy of `image` with each code's outline (green read, red located but unread) and text."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    for code in codes:
        colour = (40, 200, 40) if code.valid else (40, 40, 220)
        points = np.array(code.corners, np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [points], True, colour, 3)
        label = code.text[:TEXT_SHOWN] + ("…" if len(code.text) > TEXT_SHOWN else "") if code.valid else "?"
        if code.format is not None:
            label = f"[{code.format}] {label}"
        x, y = code.corners[0]
        y = max(18, y - 8)
        cv2.putText(out, label.encode("ascii", "replace").decode(), (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, label.encode("ascii", "replace").decode(), (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    colour, 1, cv2.LINE_AA)
    return out


class LiveView:
    """Frames from the kiosk, outlined; thread-safe, with the rates of the last WINDOW_S seconds."""

    def __init__(self, client: KioskClient, clock: Any = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._views: deque[tuple[float, int, bool]] = deque()  # (when, kiosk frame count, code read)
        self._codes: list[FoundCode] = []

    def frame(self) -> bytes | None:
        """The newest frame as an outlined JPEG; None before the kiosk's first frame.

        Raises gate.control.KioskUnavailable when no kiosk is running.
        """
        got = self.client.frame()
        if got is None:
            return None
        jpeg, kiosk_frames = got
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        codes = find_codes(image)
        ok, out = cv2.imencode(".jpg", outline(image, codes), [cv2.IMWRITE_JPEG_QUALITY, 75])
        now = self.clock()
        with self._lock:
            self._views.append((now, kiosk_frames, any(c.valid for c in codes)))
            while self._views and now - self._views[0][0] > WINDOW_S:
                self._views.popleft()
            self._codes = codes
        return out.tobytes() if ok else None

    def stats(self) -> dict[str, Any]:
        """Frame rate of the camera, of this view, and the share of viewed frames with a code read."""
        with self._lock:
            views = list(self._views)
            codes = list(self._codes)
        out: dict[str, Any] = {"camera_fps": None, "view_fps": None, "decode_rate": None,
                               "codes": [c.to_json() for c in codes], "window_s": WINDOW_S}
        if len(views) >= 2:
            span = views[-1][0] - views[0][0]
            if span > 0:
                out["camera_fps"] = round((views[-1][1] - views[0][1]) / span, 1)
                out["view_fps"] = round((len(views) - 1) / span, 1)
        if views:
            out["decode_rate"] = round(sum(1 for v in views if v[2]) / len(views), 2)
        return out
