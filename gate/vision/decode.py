"""QR texts out of camera frames: the decoder chain, and the debouncer that turns reads into scans.

Why a chain: measured on phone screens at a gate, zxing-cpp reads most codes in well under a
millisecond, pyzbar (libzbar) reads some that zxing-cpp misses (moiré from the screen's pixel
grid), and neither reads codes that a little preprocessing would rescue (tiny codes upscaled,
blurred ones sharpened, glare flattened). Most frames at a gate hold no code at all, so the
chain's first pass is zxing-cpp alone on the whole frame; the later passes run only where there
is evidence of a code (a symbol zxing-cpp located but could not read, or a patch of dense
two-way edges the size of a code) and only within a per-frame time budget.

Fail secure: a decoder that raises is counted and logged and its pass counts as "nothing found";
a text is returned only when it is plausible (a text with a known format's prefix must be well
formed for that format, gate.codes.formats -- a misread of a health code cannot pass as another)
and consistent (two different reads of what looks like one symbol cancel each other out). The
rescue passes upscale, sharpen and equalise, and on a tiny or blurred code they can invent a
short text ("386", "0") out of noise that no library reads in the plain frame; so a text found
only by a rescue pass is kept only when it is of a known format. The first, unprocessed pass
still reports any plausible text, so a web address is told apart from a health code. Only QR
symbols are decoded, by both libraries: libzbar has had memory-safety bugs in its other
symbologies.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import zxingcpp

from gate.codes import formats

log = logging.getLogger(__name__)

_QR = zxingcpp.BarcodeFormat.QRCode
# The SMART Health Cards specification allows QR versions up to 22 (credentials.md): a card in a
# bigger symbol is not a well-made card, and its text is not reported (where the decoder tells
# the version: zxing-cpp does, libzbar does not).
SHC_PREFIX = "shc:/"
SHC_MAX_QR_VERSION = 22


def _oversized_card(b: zxingcpp.Barcode) -> bool:
    """A SMART Health Card read from a QR symbol above version 22."""
    if not b.text.startswith(SHC_PREFIX):
        return False
    try:
        return int(b.extra.get("Version", 0)) > SHC_MAX_QR_VERSION
    except (AttributeError, TypeError, ValueError):
        return False


@dataclass
class DecodeStats:
    """Counters since the decoder was made; the kiosk exports them, the benchmark prints them."""

    frames: int = 0
    frames_with_text: int = 0
    first_pass: int = 0          # frames read by the fast whole-frame pass
    rescued: int = 0             # frames read only by a later pass
    evidence: int = 0            # frames where later passes ran
    budget_exhausted: int = 0    # frames whose later passes were cut short by the time budget
    decoder_errors: int = 0      # a decoder raised; counted as "nothing found"
    rejected_implausible: int = 0
    rejected_unknown_format: int = 0  # texts only a rescue pass found, of no known format
    rejected_conflict: int = 0
    rejected_qr_version: int = 0  # SMART Health Cards in a symbol above version 22
    by_pass: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "by_pass"}
        d["by_pass"] = dict(self.by_pass)
        return d


def to_gray(image: np.ndarray) -> np.ndarray:
    """A contiguous 8-bit single-channel copy (or the image itself when it already is one)."""
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] == 3:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif image.ndim == 3 and image.shape[2] == 4:
        gray = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    elif image.ndim == 3 and image.shape[2] == 1:
        gray = image[:, :, 0]
    else:
        raise ValueError(f"not an image: array of shape {image.shape}")
    if gray.dtype != np.uint8:
        raise ValueError(f"not an 8-bit image: dtype {gray.dtype}")
    return np.ascontiguousarray(gray)


def plausible(text: str) -> bool:
    """Could this text be what a QR symbol really holds (as opposed to a misread)?

    A text with a known format's prefix (a JKM1 health code, a venue card) must pass that
    format's syntax check (for JKM1: base45 throughout, of a length base45 can have); anything
    else must be printable text of sane length (the verifier then calls it `not_a_health_code`).
    """
    if not text or len(text) > formats.max_text_chars():  # the seam says how long a known text may be
        return False
    if formats.format_of(text) is not None:
        return formats.well_formed(text)
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _looks_like_misread(a: str, b: str) -> bool:
    """Two texts so alike that they are more likely two reads of one symbol than two symbols."""
    if a.startswith(b) or b.startswith(a):
        return True
    if len(a) != len(b):
        return False
    differing = sum(1 for x, y in zip(a, b) if x != y)
    return differing <= max(2, len(a) // 4)


# --- the decoders, each restricted to QR ----------------------------------------------------


def _zxing(gray: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
           return_errors: bool = False) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(gray, formats=_QR, binarizer=binarizer, return_errors=return_errors)


def _pyzbar(gray: np.ndarray) -> list[str]:
    from pyzbar import pyzbar  # imported on first use: libzbar is only needed when it is

    texts = []
    for symbol in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        texts.append(symbol.data.decode("utf-8"))  # UnicodeDecodeError: a misread; caught by caller
    return texts


def _upscale(gray: np.ndarray, factor: float = 2.0) -> np.ndarray:
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def _sharpen(gray: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    return cv2.addWeighted(gray, 1 + amount, cv2.GaussianBlur(gray, (0, 0), sigma), -amount, 0)


def _smooth(gray: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(gray, (0, 0), 1.0)


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4))


def _flatten(gray: np.ndarray) -> np.ndarray:
    """Local contrast equalisation: lifts a washed-out half of a code out of a glare veil."""
    return _CLAHE.apply(gray)


def _stretch(gray: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(gray, (1, 99))
    if hi - lo < 4:
        return gray
    return cv2.convertScaleAbs(gray, alpha=255.0 / (hi - lo), beta=-lo * 255.0 / (hi - lo))


# A later pass: (name, function of the region's grey pixels -> texts). Ordered by what each
# rescued per millisecond on the benchmark's frames (see bench/decode.py).
def _zx_texts(gray: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage) -> list[str]:
    return [b.text for b in _zxing(gray, binarizer) if b.valid and not _oversized_card(b)]


RESCUE_PASSES: tuple[tuple[str, Callable[[np.ndarray], list[str]]], ...] = (
    ("zxing_upscaled", lambda g: _zx_texts(_upscale(g))),
    ("pyzbar", _pyzbar),
    ("zxing_sharpened", lambda g: _zx_texts(_sharpen(g))),
    ("pyzbar_smoothed", lambda g: _pyzbar(_smooth(g))),
    ("zxing_upscaled_sharpened", lambda g: _zx_texts(_sharpen(_upscale(g), sigma=3.0))),
    ("zxing_flattened", lambda g: _zx_texts(_flatten(g))),
    ("pyzbar_upscaled", lambda g: _pyzbar(_upscale(g))),
    ("zxing_sharpened_strong", lambda g: _zx_texts(_sharpen(g, sigma=1.5, amount=2.5))),
    ("zxing_upscaled3_sharpened", lambda g: _zx_texts(_sharpen(_upscale(g, 3.0), sigma=4.0, amount=2.0))),
    ("zxing_histogram", lambda g: _zx_texts(_stretch(g), zxingcpp.Binarizer.GlobalHistogram)),
    ("pyzbar_flattened", lambda g: _pyzbar(_flatten(g))),
    ("pyzbar_sharpened", lambda g: _pyzbar(_sharpen(g))),
)


# --- evidence of a code -----------------------------------------------------------------------


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in full-frame pixels


def texture_regions(gray: np.ndarray, max_regions: int = 2) -> list[Box]:
    """Patches that look like a QR code: dense edges both ways over a code-sized square.

    Costs about a quarter of a millisecond per 640x480 frame. Edges are found on a half-size
    copy; their density (horizontal and vertical separately) is taken on a quarter-size grid; a
    patch where both are dense is a candidate. Lines, bezels and lines of text make only thin
    bands of density, which an erosion removes; a code, even a tiny, blurred or moiré one,
    leaves a solid blob. Returns up to max_regions boxes, largest first.
    """
    h, w = gray.shape
    small = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    gx = cv2.convertScaleAbs(cv2.Sobel(small, cv2.CV_16S, 1, 0, ksize=3))
    gy = cv2.convertScaleAbs(cv2.Sobel(small, cv2.CV_16S, 0, 1, ksize=3))
    _, ex = cv2.threshold(gx, _EDGE, 255, cv2.THRESH_BINARY)
    _, ey = cv2.threshold(gy, _EDGE, 255, cv2.THRESH_BINARY)
    quarter = (max(1, w // 4), max(1, h // 4))
    dx = cv2.blur(cv2.resize(ex, quarter, interpolation=cv2.INTER_AREA), (5, 5))
    dy = cv2.blur(cv2.resize(ey, quarter, interpolation=cv2.INTER_AREA), (5, 5))
    _, mask = cv2.threshold(cv2.min(dx, dy), _DENSITY, 255, cv2.THRESH_BINARY)
    mask = cv2.erode(mask, _ERODE)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    blobs = []
    for c in contours:
        area = cv2.contourArea(c)
        if area >= _MIN_BLOB:
            x, y, bw, bh = cv2.boundingRect(c)
            # back to full-frame pixels, undoing the erosion (2 quarter pixels) on the way
            box = (4 * (x - 2), 4 * (y - 2), 4 * (x + bw + 2), 4 * (y + bh + 2))
            blobs.append((area, _grow(box, w, h, frac=0.15, pad=8)))
    blobs.sort(key=lambda ab: ab[0], reverse=True)
    return [b for _, b in blobs[:max_regions]]


# Tuned on the synthetic set (bench/decode.py): every code-bearing kind leaves a blob of at least
# ~200 quarter-pixels, empty gate scenes at most ~170 and mostly none.
_EDGE = 40          # Sobel response on the half-size image that counts as an edge
_DENSITY = 89       # 35% of a 10x10 half-size window, as 0..255
_ERODE = np.ones((5, 5), np.uint8)
_MIN_BLOB = 120


def _grow(box: Box, w: int, h: int, frac: float = 0.2, pad: int = 12) -> Box:
    x0, y0, x1, y1 = box
    mx, my = int((x1 - x0) * frac) + pad, int((y1 - y0) * frac) + pad
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def _barcode_box(b: zxingcpp.Barcode, w: int, h: int) -> Box:
    p = b.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
    return _grow((min(xs), min(ys), max(xs), max(ys)), w, h, frac=0.25, pad=16)


def _overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller else 0.0


# --- the chain --------------------------------------------------------------------------------


class QRDecoder:
    """The decoder chain: `decode(image)` gives the QR texts in one frame, never a wrong one.

    budget_ms bounds the time spent on later passes in one frame (the first pass always runs):
    a code that is too hard for this frame will usually be easier in the next. `clock` is
    injectable for tests (monotonic seconds). `passes` replaces RESCUE_PASSES (for the bench).
    """

    def __init__(self, budget_ms: float = 30.0, *, max_regions: int = 2,
                 passes: Iterable[tuple[str, Callable[[np.ndarray], list[str]]]] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.budget_ms = budget_ms
        self.max_regions = max_regions
        self.passes = tuple(passes) if passes is not None else RESCUE_PASSES
        self.clock = clock
        self.stats = DecodeStats()
        self._refused: set[str] = set()  # this frame's texts refused for their symbol, not their text

    def decode(self, image: np.ndarray) -> list[str]:
        """All QR texts in the image (BGR, BGRA or grey, 8-bit), in the order found."""
        gray = to_gray(image)
        start = self.clock()
        self.stats.frames += 1
        h, w = gray.shape

        found: list[str] = []
        located: list[Box] = []
        self._refused = set()
        try:
            for b in _zxing(gray, return_errors=True):
                if b.valid and _oversized_card(b):
                    self._refused.add(b.text)  # not to be let in by a later pass either
                    self.stats.rejected_qr_version += 1
                    log.info("dropped a SMART Health Card in a QR symbol above version 22")
                elif b.valid:
                    found.append(b.text)
                    located.append(_barcode_box(b, w, h))
                else:
                    located.append(_barcode_box(b, w, h))
        except Exception as exc:  # noqa: BLE001 -- a decoder fault is "nothing found", never a crash
            self._fault("zxing", exc)
        texts = self._accept(found)
        if texts:
            self.stats.first_pass += 1
            self.stats.by_pass["zxing"] += 1
            self.stats.frames_with_text += 1
            return texts

        # Evidence: code-like texture, and symbols zxing located but could not read (the texture
        # box around a located symbol is kept: it holds the whole code with its quiet zone).
        regions: list[Box] = []
        for box in texture_regions(gray, self.max_regions) + located:
            if not any(_overlap(box, r) > 0.6 for r in regions):
                regions.append(box)
        regions = regions[: self.max_regions]
        if not regions:
            return []
        self.stats.evidence += 1

        deadline = start + self.budget_ms / 1000.0
        for x0, y0, x1, y1 in regions:
            roi = np.ascontiguousarray(gray[y0:y1, x0:x1])
            for name, run in self.passes:
                if self.clock() > deadline:
                    self.stats.budget_exhausted += 1
                    break
                try:
                    got = run(roi)
                except Exception as exc:  # noqa: BLE001 -- see above
                    self._fault(name, exc)
                    continue
                got = self._known(got)
                if got:
                    found.extend(got)
                    self.stats.by_pass[name] += 1
                    break
            else:
                continue
            if self.clock() > deadline:
                break
        texts = self._accept(found)
        if texts:
            self.stats.rescued += 1
            self.stats.frames_with_text += 1
        return texts

    def _known(self, texts: list[str]) -> list[str]:
        """A rescue pass's texts with a known format's prefix (whether each is well formed is
        `_accept`'s question); the others are counted and dropped, and the next pass gets its
        turn (an invented text must not end the search for the real one)."""
        kept = [t for t in texts if formats.format_of(t) is not None]
        if len(kept) != len(texts):
            self.stats.rejected_unknown_format += len(texts) - len(kept)
            log.info("dropped %d QR reads of no known format found only by a rescue pass", len(texts) - len(kept))
        return kept

    def _accept(self, found: list[str]) -> list[str]:
        """The plausible texts that do not contradict each other."""
        unique = [t for t in dict.fromkeys(found) if t not in self._refused]
        good = []
        for t in unique:
            if plausible(t):
                good.append(t)
            else:
                self.stats.rejected_implausible += 1
                log.info("dropped an implausible QR read (%d characters)", len(t))
        conflicted = {a for a in good for b in good if a != b and _looks_like_misread(a, b)}
        if conflicted:
            self.stats.rejected_conflict += len(conflicted)
            log.warning("dropped %d QR reads that contradict each other", len(conflicted))
        return [t for t in good if t not in conflicted]

    def _fault(self, name: str, exc: Exception) -> None:
        self.stats.decoder_errors += 1
        log.warning("QR decoder %s failed (%s: %s); counted as nothing found", name, type(exc).__name__, exc)


# --- debounce ---------------------------------------------------------------------------------


class Debouncer:
    """Turns per-frame reads into scans.

    The same text seen again within debounce_s of when it was last seen is the same scan; so a
    code held in view does not re-trigger, however long it stays. A different text is a new scan
    at once. Times are on the frame source's timeline (footage time for files, monotonic for
    cameras), never the wall clock.
    """

    def __init__(self, debounce_s: float = 3.0) -> None:
        if debounce_s < 0:
            raise ValueError("debounce_s must be >= 0")
        self.debounce_s = debounce_s
        self._last_seen: dict[str, float] = {}

    def new_scans(self, texts: Iterable[str], t: float) -> list[str]:
        """The texts among this frame's that are new scans at time t (seconds)."""
        fresh = []
        for text in dict.fromkeys(texts):
            last = self._last_seen.get(text)
            if last is None or t - last > self.debounce_s or t < last:
                fresh.append(text)
            self._last_seen[text] = t
        self._forget(t)
        return fresh

    def reset(self) -> None:
        """Forget everything (e.g. after the camera was lost and reopened)."""
        self._last_seen.clear()

    def _forget(self, t: float) -> None:
        if len(self._last_seen) > 64:
            self._last_seen = {k: v for k, v in self._last_seen.items() if t - v <= self.debounce_s}
