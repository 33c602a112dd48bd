"""A printable venue card: the QR code with what it sets written under it, as PNG or PDF.

Pillow draws and saves (it writes PDF as well as PNG, and draws Chinese with the Noto CJK font
where Debian's fonts-noto-cjk is installed); zxing-cpp makes the QR symbol, so the card is read
by the same library family the gate decodes with.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from gate.directives.venue_card import VenueCard
from gate.vocabulary import VENUE_TYPE_WORDS

CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in CJK_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def render_card(text: str, card: VenueCard, module_px: int = 8) -> Image.Image:
    """The card as a white picture: the QR code, then the venue, type, communities and validity."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    qr = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=module_px, add_quiet_zones=True))
    qr_img = Image.fromarray(qr).convert("L")
    font = _font(28)
    cjk = any(Path(p).is_file() for p in CJK_FONTS)
    until = datetime.fromtimestamp(card.expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        ("场所卡 / Venue card" if cjk else "Venue card"),
        f"{card.venue_id}",
        (f"{VENUE_TYPE_WORDS[card.venue_type].name_zh} / {card.venue_type}" if cjk else card.venue_type),
        ("Communities: " + ", ".join(card.community_codes)) if card.community_codes else "",
        ("Gates: " + ", ".join(card.device_ids)) if card.device_ids else "Any gate",
        f"Valid until {until}",
    ]
    lines = [line for line in lines if line]
    width = max(qr_img.width, 700)
    height = qr_img.height + 20 + 40 * len(lines) + 20
    page = Image.new("L", (width, height), 255)
    page.paste(qr_img, ((width - qr_img.width) // 2, 0))
    draw = ImageDraw.Draw(page)
    y = qr_img.height + 10
    for line in lines:
        draw.text((30, y), line, fill=0, font=font)
        y += 40
    return page


def save_card(text: str, card: VenueCard, out: Path) -> None:
    """Write the card to `out`: PDF when its name ends in .pdf, else PNG."""
    image = render_card(text, card)
    if out.suffix.lower() == ".pdf":
        image.convert("RGB").save(out, "PDF", resolution=150)
    else:
        image.save(out, "PNG")
