"""The decoder chain on the dense codes of other credentials (issue 22): EU DCCs and SMART Health
Cards in QR versions 10 to 22 at 2.2 to 4.5 camera pixels a module (bench/decode.py's frames).

The chain must read every frame that zxing-cpp or pyzbar reads alone, and return no wrong text.
And a SMART Health Card in a symbol above version 22 (which its specification forbids) is not
reported, while the same card in a version 22 symbol is.
"""

from __future__ import annotations

import numpy as np
import zxingcpp

from bench.decode import dense_frames, pyzbar_alone, zxing_alone
from gate.vision.decode import QRDecoder, to_gray
from gate.vision.synthetic import code_picture, qr_matrix


def test_the_chain_reads_every_dense_code_either_library_reads_and_nothing_wrong():
    chain = QRDecoder(budget_ms=1000)  # generous: the result must not depend on the machine's speed
    union = read = 0
    missed, wrong = [], []
    for f in dense_frames(per_version=1, seed=11):
        gray = to_gray(f.image)
        either = f.text in zxing_alone(gray) or f.text in pyzbar_alone(gray)
        got = chain.decode(gray)
        union += either
        read += f.text in got
        wrong += [f.category for t in got if t != f.text]
        if either and f.text not in got:
            missed.append(f.category)
    assert missed == [] and wrong == []
    assert read >= union > 0


def _shc_text(pairs: int) -> str:
    rng = np.random.default_rng(pairs)
    return "shc:/" + "".join(f"{p:02d}" for p in rng.integers(0, 78, pairs))


def _version(text: str) -> int:
    return (qr_matrix(text, "L").shape[0] - 17) // 4


def test_a_health_card_above_qr_version_22_is_not_reported():
    small = _shc_text(600)
    big = _shc_text(1200)
    assert _version(small) <= 22 < _version(big)
    for text, reported in ((small, True), (big, False)):
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="L")
        picture = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=3))
        assert zxing_alone(picture) == [text]  # the symbol itself reads
        decoder = QRDecoder()
        assert (decoder.decode(picture) == [text]) is reported
        assert decoder.stats.rejected_qr_version == (0 if reported else 1)


def test_code_picture_still_serves_plain_codes():
    assert QRDecoder().decode(code_picture("HC1:" + "NCFOXN%TS3DH", module_px=4)) == ["HC1:NCFOXN%TS3DH"]
