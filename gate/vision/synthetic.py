"""Synthetic gate frames: a phone showing a JKM1 health code, seen by a 640x480 gate camera.

What it is for: the decoder tests, `bench/decode.py` and the demo-footage script need frames in
the kinds of trouble a real gate sees (people hold phones tilted, rotated, too close, too far,
in sun glare, at night, with dark-mode screens and cracked glass) without shipping thousands of
photographs. Every frame is a pure function of (category, seed): the same call gives the same
pixels on every machine, so a test threshold set today still means the same thing tomorrow.

How a frame is made: the phone's screen is drawn flat (app header, a white card with the QR code,
some lines of text), put in a bezel, placed in 3-D (distance, in-plane rotation, tilt) and
projected through a pinhole camera onto a cluttered background; then the camera's optics and
sensor are applied (defocus, noise, MJPG compression) and the category's trouble on top.

The QR codes are made with zxing-cpp's writer (already a dependency), which picks alphanumeric
mode for JKM1 texts since base45 is exactly the QR alphanumeric alphabet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import base45
import cv2
import numpy as np
import zxingcpp

from gate.codes.jkm1 import PREFIX

WIDTH, HEIGHT = 640, 480
FOCAL_PX = 700.0

# The kinds of trouble, in the order the benchmark prints them.
CATEGORIES: tuple[str, ...] = (
    "rotation",
    "tilt",
    "blur",
    "motion",
    "glare",
    "low_contrast",
    "noise",
    "jpeg",
    "dark_mode",
    "moire",
    "tiny",
    "huge",
)

_SCREEN_W, _SCREEN_H, _BEZEL = 360, 720, 22
_MODULE_PX = 5  # screen pixels per QR module as the app draws it
# Sensor noise is cut from one fixed field at a seeded offset: as random-looking, far cheaper.
_NOISE = np.random.default_rng(20220401).standard_normal((HEIGHT + 240, WIDTH + 320), dtype=np.float32)


@dataclass(frozen=True)
class SyntheticFrame:
    """One generated camera frame: BGR pixels, the QR text it shows ('' for none), its kind."""

    image: np.ndarray
    text: str
    category: str
    seed: int


def jkm1_text(rng: np.random.Generator) -> str:
    """A realistic-looking JKM1 text: the prefix + base45 of ~150 bytes starting like zlib.

    Not signed: the decoder only cares about the symbol, not what the bytes mean.
    """
    n = int(rng.integers(146, 162))
    body = bytes([0x78, 0xDA]) + rng.integers(0, 256, n - 2, dtype=np.uint8).tobytes()
    return PREFIX + base45.b45encode(body).decode("ascii")


def qr_matrix(text: str, ec_level: str = "M") -> np.ndarray:
    """The QR symbol for text as a bool array (True = dark module), no quiet zone."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    img = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False))
    return img < 128


def code_picture(text: str, module_px: int = 4, size: tuple[int, int] = (WIDTH, HEIGHT),
                 at: tuple[int, int] = (40, 40), background_level: int = 200) -> np.ndarray:
    """A plain BGR picture of `text`'s QR code on a flat background: a code any decoder reads."""
    modules = np.where(qr_matrix(text), 0, 255).astype(np.uint8)
    big = cv2.resize(modules, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    width, height = size
    image = np.full((height, width), background_level, np.uint8)
    x, y = at
    image[y:y + big.shape[0], x:x + big.shape[1]] = big
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def frame(category: str, seed: int) -> SyntheticFrame:
    """The frame of this category and seed (category 'empty': a gate scene with no QR code)."""
    if category != "empty" and category not in CATEGORIES:
        raise ValueError(f"unknown frame category {category!r}; known: empty, {', '.join(CATEGORIES)}")
    # Seed from the category name too, so 'tiny' #3 and 'blur' #3 differ.
    cat_id = sum((i + 1) * ord(c) for i, c in enumerate(category))
    rng = np.random.default_rng([seed, cat_id])
    return _render(category, seed, rng)


def frames(categories: tuple[str, ...] | list[str] = CATEGORIES, per_category: int = 50,
           seed: int = 0) -> list[SyntheticFrame]:
    """per_category frames of each category, seeds seed .. seed+per_category-1."""
    return [frame(c, seed + i) for c in categories for i in range(per_category)]


# --- the scene ---------------------------------------------------------------------------------


def background(rng: np.random.Generator) -> np.ndarray:
    """A gate scene: lit gradient, walls and posts, a sign, some texture; no QR-like pattern."""
    corners = rng.uniform(40, 170, 3) + rng.uniform(-40, 40, (2, 2, 3))  # lit unevenly
    img = cv2.resize(np.clip(corners, 0, 255).astype(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = int(rng.integers(-100, WIDTH)), int(rng.integers(-100, HEIGHT))
        w, h = int(rng.integers(30, 300)), int(rng.integers(30, 300))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), color, -1)
    for _ in range(int(rng.integers(2, 6))):
        p1 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
        p2 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
        cv2.line(img, p1, p2, tuple(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(1, 6)))
    if rng.random() < 0.5:  # a sign with writing on it
        x0, y0 = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 80))
        cv2.rectangle(img, (x0, y0), (x0 + 200, y0 + 70), (230, 230, 230), -1)
        cv2.putText(img, "EXIT 2", (x0 + 10, y0 + 50), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 160), 3)
    texture = rng.standard_normal((HEIGHT // 4, WIDTH // 4), dtype=np.float32) * 18
    texture = cv2.resize(cv2.GaussianBlur(texture, (0, 0), 1.5), (WIDTH, HEIGHT))
    img = cv2.add(img, cv2.merge([texture] * 3), dtype=cv2.CV_8U)
    return cv2.GaussianBlur(img, (0, 0), 1.2)


def screen_module_px(modules: int) -> int:
    """Screen pixels per QR module as the app draws a code of `modules` modules: 5, or fewer for a
    dense code (an EU DCC or SMART Health Card) so that it fits the screen's width."""
    return max(1, min(_MODULE_PX, (_SCREEN_W - 50) // modules))


def phone_face(rng: np.random.Generator, matrix: np.ndarray | None, dark: bool) -> tuple[np.ndarray, tuple[float, float]]:
    """The phone face (bezel + screen) as BGR, and where the QR's centre is on it."""
    bg = (32, 32, 32) if dark else (246, 246, 246)
    fg = (225, 225, 225) if dark else (20, 20, 20)
    screen = np.full((_SCREEN_H, _SCREEN_W, 3), bg, np.uint8)
    status = [(60, 170, 40), (0, 190, 230), (40, 40, 200)][int(rng.choice(3, p=[0.8, 0.15, 0.05]))]
    cv2.rectangle(screen, (0, 0), (_SCREEN_W, 70), status, -1)
    cv2.putText(screen, "Health Code", (20, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    qr_center = (_SCREEN_W / 2, 0.47 * _SCREEN_H)
    if matrix is not None:
        n = matrix.shape[0]
        side = n * screen_module_px(n)
        dark_px, light_px = (225, 32) if dark else (16, 250)
        card = np.where(matrix, dark_px, light_px).astype(np.uint8)
        card = cv2.resize(card, (side, side), interpolation=cv2.INTER_NEAREST)
        card = cv2.copyMakeBorder(card, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=light_px)
        ch, cw = card.shape
        y0, x0 = int(qr_center[1] - ch / 2), int(qr_center[0] - cw / 2)
        screen[y0:y0 + ch, x0:x0 + cw] = card[:, :, None]
        cv2.rectangle(screen, (x0 - 3, y0 - 3), (x0 + cw + 2, y0 + ch + 2), status, 4)
    else:  # a screen with no code: the app's home page
        for i in range(6):
            y = 140 + 70 * i
            cv2.rectangle(screen, (30, y), (_SCREEN_W - 30, y + 50), tuple(int(c) for c in rng.integers(60, 230, 3)), -1)
    for i in range(3):
        y = int(0.47 * _SCREEN_H + 200 + 36 * i)
        cv2.putText(screen, ["Name  Wang **", "ID  3601********12", "Updated 08:31:07"][i], (24, y),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.7, fg, 2)
    phone = cv2.copyMakeBorder(screen, _BEZEL, _BEZEL, _BEZEL, _BEZEL, cv2.BORDER_CONSTANT, value=(12, 12, 14))
    return phone, (qr_center[0] + _BEZEL, qr_center[1] + _BEZEL)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch), math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def _homography(phone_shape: tuple[int, int], qr_center: tuple[float, float], qr_side_px: float,
                target_px: float, roll: float, yaw: float, pitch: float,
                center_xy: tuple[float, float]) -> np.ndarray:
    """Phone-pixel -> camera-pixel homography for a phone whose QR spans target_px when face-on."""
    k = target_px / (FOCAL_PX * qr_side_px)  # metres-ish per phone pixel at unit distance
    rot = _rotation(yaw, pitch, roll)
    h, w = phone_shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = []
    for u, v in src:
        p = rot @ np.array([(u - qr_center[0]) * k, (v - qr_center[1]) * k, 0.0]) + np.array([0, 0, 1.0])
        dst.append([FOCAL_PX * p[0] / p[2] + center_xy[0], FOCAL_PX * p[1] / p[2] + center_xy[1]])
    return cv2.getPerspectiveTransform(src, np.float32(dst))


def _fit_in_frame(phone_shape: tuple[int, int], qr_center: tuple[float, float], qr_side: float,
                  target: float, roll: float, yaw: float, pitch: float, center_xy: tuple[float, float]) -> float:
    """Shrink target until the whole QR symbol (not necessarily the phone) is inside the frame.

    A code cut by the frame's edge is unreadable by anyone, so it measures nothing.
    """
    half = qr_side / 2
    corners = np.float32([[[qr_center[0] + dx * half, qr_center[1] + dy * half]
                           for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]])
    for _ in range(40):
        h_mat = _homography(phone_shape, qr_center, qr_side, target, roll, yaw, pitch, center_xy)
        pts = cv2.perspectiveTransform(corners, h_mat)[0]
        if pts[:, 0].min() >= 3 and pts[:, 1].min() >= 3 and pts[:, 0].max() <= WIDTH - 3 and pts[:, 1].max() <= HEIGHT - 3:
            break
        target *= 0.95
    return target


def _lcd_grid(phone: np.ndarray) -> np.ndarray:
    """The phone face as the LCD's sub-pixels: each pixel 3x3, R/G/B stripes with a dark gap row."""
    big = cv2.resize(phone, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    mask = np.zeros((3, 3, 3), np.float32)
    for col, channel in enumerate((2, 1, 0)):  # BGR image: R stripe first
        mask[:2, col, channel] = 1.0
    mask[2, :, :] = 0.15
    tiled = np.tile(mask, (phone.shape[0], phone.shape[1], 1))
    return np.clip(big * tiled * 2.4, 0, 255).astype(np.uint8)


def _render(category: str, seed: int, rng: np.random.Generator) -> SyntheticFrame:
    img = background(rng)
    text = "" if category == "empty" else jkm1_text(rng)
    matrix = qr_matrix(text) if text else None
    if category == "empty" and rng.random() < 0.4:  # nobody there, or a phone without a code
        return SyntheticFrame(_camera(img, rng, jpeg_q=int(rng.integers(80, 95))), "", category, seed)
    dark = category == "dark_mode"
    phone, qr_center = phone_face(rng, matrix, dark)
    n = matrix.shape[0] if matrix is not None else 53
    qr_side = n * _MODULE_PX

    target = rng.uniform(110, 230)  # QR width in camera pixels, face-on
    roll = math.radians(rng.uniform(-20, 20))
    yaw = math.radians(rng.uniform(-15, 15))
    pitch = math.radians(rng.uniform(-15, 15))
    if category == "rotation":
        roll = math.radians(rng.uniform(0, 360))
    elif category == "tilt":
        yaw = math.radians(rng.choice([-1, 1]) * rng.uniform(35, 58))
        pitch = math.radians(rng.choice([-1, 1]) * rng.uniform(0, 35))
        if rng.random() < 0.5:
            yaw, pitch = pitch, yaw
    elif category == "tiny":
        target = n * rng.uniform(1.3, 2.0)
    elif category == "huge":
        target = rng.uniform(380, 455)
        roll = math.radians(rng.uniform(-8, 8))
    margin = target * 0.75 + 10
    cx = rng.uniform(min(margin, WIDTH / 2), max(WIDTH - margin, WIDTH / 2))
    cy = rng.uniform(min(margin, HEIGHT / 2), max(HEIGHT - margin, HEIGHT / 2))
    if category == "huge":
        cx, cy = WIDTH / 2 + rng.uniform(-15, 15), HEIGHT / 2 + rng.uniform(-10, 10)

    target = _fit_in_frame(phone.shape[:2], qr_center, qr_side, target, roll, yaw, pitch, (cx, cy))
    scale = target / qr_side  # camera pixels per phone pixel
    if category == "moire":
        face = cv2.GaussianBlur(_lcd_grid(phone), (0, 0), 0.6)  # the lens softens the grid a little
        h_mat = _homography(phone.shape[:2], qr_center, qr_side, target, roll, yaw, pitch, (cx, cy))
        h_mat = h_mat @ np.diag([1 / 3, 1 / 3, 1.0])
        # no anti-aliasing: the sub-pixel grid beats against the sensor's pixel grid
        cv2.warpPerspective(face, h_mat, (WIDTH, HEIGHT), dst=img, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_TRANSPARENT)
    else:
        if scale < 1:
            phone = cv2.GaussianBlur(phone, (0, 0), 0.42 / scale)
        h_mat = _homography(phone.shape[:2], qr_center, qr_side, target, roll, yaw, pitch, (cx, cy))
        cv2.warpPerspective(phone, h_mat, (WIDTH, HEIGHT), dst=img, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_TRANSPARENT)
    module_px = target / n
    qr_c = (cx, cy)

    jpeg_q = int(rng.integers(75, 95))
    f = img.astype(np.float32)
    if rng.random() < 0.12 and category != "empty":  # a cracked screen
        _cracks(f, rng, qr_c, target)
    if category == "blur":
        f = cv2.GaussianBlur(f, (0, 0), module_px * rng.uniform(0.25, 0.55))
    elif category == "motion":
        f = _motion_blur(f, module_px * rng.uniform(0.6, 1.6), rng.uniform(0, 180))
    elif category == "glare":
        f = _glare(f, rng, qr_c, target)
    elif category == "low_contrast":
        lo = rng.uniform(0.1, 0.25)
        mean = f.mean()
        f = (f - mean) * lo + mean * rng.uniform(0.5, 1.2)
    elif category == "noise":
        f = _add_noise(f, rng.uniform(14, 32), rng).astype(np.float32)
    elif category == "jpeg":
        jpeg_q = int(rng.integers(5, 22))
    elif category == "moire":
        period = rng.uniform(3.5, 9.0)
        ang = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        wave = np.sin(2 * math.pi * (xx * math.cos(ang) + yy * math.sin(ang)) / period)
        on_screen = cv2.warpPerspective(np.ones(phone.shape[:2], np.float32), h_mat @ np.diag([3, 3, 1.0]),
                                        (WIDTH, HEIGHT), flags=cv2.INTER_NEAREST)
        f = f * (1 + rng.uniform(0.15, 0.35) * wave * on_screen)[:, :, None]
    elif category == "huge":
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.8, 2.2))  # too close to focus
    elif category == "dark_mode":
        f = f * rng.uniform(0.5, 0.9)  # night: less light overall
    return SyntheticFrame(_camera(f, rng, jpeg_q), text, category, seed)


def _camera(img: np.ndarray, rng: np.random.Generator, jpeg_q: int) -> np.ndarray:
    """The camera's own softness, sensor noise and MJPG compression."""
    f = cv2.GaussianBlur(img.astype(np.float32), (0, 0), rng.uniform(0.4, 0.7))
    out = _add_noise(f, rng.uniform(1.5, 4.0), rng)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg_q])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _add_noise(f: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """f plus grey sensor noise of this sigma, clipped to uint8."""
    y, x = int(rng.integers(0, _NOISE.shape[0] - HEIGHT)), int(rng.integers(0, _NOISE.shape[1] - WIDTH))
    noise = _NOISE[y:y + HEIGHT, x:x + WIDTH] * np.float32(sigma)
    return cv2.add(f.astype(np.float32), cv2.merge([noise] * 3), dtype=cv2.CV_8U)


def _motion_blur(f: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    size = max(3, int(math.ceil(length)) | 1)
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    for t in np.linspace(-length / 2, length / 2, max(2, int(length * 4))):
        kernel[int(round(c + t * dy)), int(round(c + t * dx))] += 1
    return cv2.filter2D(f, -1, kernel / kernel.sum())


def _glare(f: np.ndarray, rng: np.random.Generator, c: tuple[float, float], size: float) -> np.ndarray:
    """A reflection of a bright light on the glass: a washed-out veil and a saturated hot spot."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    gx = c[0] + rng.uniform(-0.4, 0.4) * size
    gy = c[1] + rng.uniform(-0.4, 0.4) * size
    rx, ry = size * rng.uniform(0.12, 0.3), size * rng.uniform(0.08, 0.22)
    ang = rng.uniform(0, math.pi)
    ca, sa = math.cos(ang), math.sin(ang)
    u = ((xx - gx) * ca + (yy - gy) * sa) / rx
    v = (-(xx - gx) * sa + (yy - gy) * ca) / ry
    spot = np.exp(-(u * u + v * v)) * rng.uniform(180, 320)
    veil = np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (size * 0.7) ** 2))) * rng.uniform(40, 110)
    return f + (spot + veil)[:, :, None]


def _cracks(f: np.ndarray, rng: np.random.Generator, c: tuple[float, float], size: float) -> None:
    for _ in range(int(rng.integers(1, 4))):
        p = np.array([c[0] + rng.uniform(-0.6, 0.6) * size, c[1] + rng.uniform(-0.6, 0.6) * size])
        ang = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(3, 7))):
            ang += rng.uniform(-0.6, 0.6)
            q = p + rng.uniform(10, 40) * np.array([math.cos(ang), math.sin(ang)])
            cv2.line(f, tuple(int(x) for x in p), tuple(int(x) for x in q), (235, 235, 235), 1, cv2.LINE_AA)
            p = q
