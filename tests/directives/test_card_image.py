"""A printed venue card is read back by the gate's own decoder chain."""

import cv2

from gate.directives.card_image import save_card
from gate.directives.venue_card import make_card, read_card
from gate.vision.decode import QRDecoder
from tests.pki import NOW


def test_png_card_decodes_to_a_valid_card(tmp_path, directive_key, trust_list):
    text = make_card(directive_key, "360102-012-north", "residential", community_codes=("360102-012",),
                     issued_at=NOW - 60)
    card = read_card(text, trust_list, "gate-a", NOW)
    save_card(text, card, tmp_path / "card.png")
    image = cv2.imread(str(tmp_path / "card.png"))
    assert QRDecoder().decode(image) == [text]


def test_pdf_card_is_written(tmp_path, directive_key, trust_list):
    text = make_card(directive_key, "v1", "metro", issued_at=NOW - 60)
    save_card(text, read_card(text, trust_list, "gate-a", NOW), tmp_path / "card.pdf")
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")
