"""The screen end to end: a scan through the kiosk appears on the page a browser renders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.display import DisplayServer
from gate.display.headless import HeadlessChromium, find_chromium
from gate.hardware.thermometer import SimulatedThermometer
from gate.kiosk import Kiosk
from gate.pipeline import open_pipeline
from gate.vision.sources import ImageFolderSource
from gate.vision.synthetic import qr_matrix
from tests.pki import NOW

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no chromium: install Debian's chromium package")


def picture(text: str) -> np.ndarray:
    modules = np.where(qr_matrix(text), 0, 255).astype(np.uint8)
    big = cv2.resize(modules, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    image = np.full((480, 640), 200, np.uint8)
    image[60:60 + big.shape[0], 60:60 + big.shape[1]] = big
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize(("status", "decision", "words"), [("green", "allow", "通行"), ("red", "hold", "红码")])
def test_a_scan_through_the_kiosk_shows_its_decision_on_the_rendered_page(pki, tmp_path, status, decision, words):
    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.4), persist_floor=False,
                             clock=lambda: NOW, body_options={"timer": False})
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), picture(pki.code(status, name="张*明")))
    with DisplayServer(port=0).start() as screen, HeadlessChromium(width=800, height=480) as browser:
        browser.open(screen.url)
        browser.wait_for("document.body.dataset.seq !== undefined")
        stats = Kiosk(pipeline, ImageFolderSource(folder), display=screen).run()
        pipeline.close()
        assert stats.decisions == {decision: 1}
        browser.wait_for(f"document.body.dataset.decision === '{decision}'")
        text = str(browser.evaluate("document.body.innerText"))
        assert words in text
        assert "张*明" in text
        assert "36.4" in text
