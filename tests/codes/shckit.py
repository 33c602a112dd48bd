"""SMART Health Card test material in ../shared/conformance/shc: trust, clock, and QR images.

The spec examples' QR images are SVGs of one-unit strokes (`M x y.5 h n m dx 0 ...`), drawn
here into a bitmap (no SVG library needed) at 6 pixels a module, to be read by the gate's decoder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
import numpy as np

from tests.credentials import credkit

ROOT = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "shc"
EXAMPLES = ROOT / "spec-examples"
DEVTOOLS = ROOT / "dev-tools-testdata"
SPEC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
# A day after the spec examples' nbf (2023-06-22), before example 03's exp (2024-06-21).
NOW = 1687450764 + 86400


def trust(issuers: dict[str, dict] | None = None, revoked: frozenset = frozenset()) -> credkit.Trust:
    """A trust store holding the given issuers' JWKS (default: the spec examples' issuer)."""
    if issuers is None:
        issuers = {SPEC_ISSUER: json.loads((EXAMPLES / "issuer" / ".well-known" / "jwks.json").read_text())}
    store = credkit.trust(shc_issuers=issuers)
    store.revoked_hashes |= set(revoked)
    return store


def svg_to_image(path: Path, scale: int = 6) -> np.ndarray:
    """A bitmap (white background, black modules, a quiet zone) of a stroke-path QR SVG."""
    text = path.read_text()
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', text).group(1))
    image = np.full((size * scale, size * scale), 255, np.uint8)
    d = re.search(r'<path stroke="#000000" d="([^"]+)"', text).group(1)
    x = y = 0.0
    for cmd, args in re.findall(r"([MmHhz])([^MmHhz]*)", d):
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if cmd == "M":
            x, y = nums
        elif cmd == "m":
            x, y = x + nums[0], y + nums[1]
        elif cmd in "hH":
            end = x + nums[0] if cmd == "h" else nums[0]
            row = int(y)  # a stroke centred on y.5 covers row y
            image[row * scale:(row + 1) * scale, int(x) * scale:int(end) * scale] = 0
            x = end
    return image
