"""The screen end to end: a scan through the kiosk appears on the page a browser renders."""

from __future__ import annotations

import cv2
import pytest

from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.display import DisplayServer
from gate.hardware.thermometer import SimulatedThermometer
from gate.kiosk import Kiosk
from gate.pipeline import open_pipeline
from gate.vision.sources import ImageFolderSource
from gate.vision.synthetic import code_picture
from tests.pki import NOW


@pytest.mark.parametrize(("status", "decision", "words"), [("green", "allow", "通行"), ("red", "hold", "红码")])
def test_a_scan_through_the_kiosk_shows_its_decision_on_the_rendered_page(pki, tmp_path, browser_page, status,
                                                                          decision, words):
    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.4), persist_floor=False,
                             clock=lambda: NOW, body_options={"timer": False})
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), code_picture(pki.code(status, name="张*明"), at=(60, 60)))
    page = browser_page(800, 480)
    with DisplayServer(port=0).start() as screen:
        page.goto(screen.url)
        page.wait_for_function("document.body.dataset.seq !== undefined")
        stats = Kiosk(pipeline, ImageFolderSource(folder), display=screen).run()
        pipeline.close()
        assert stats.decisions == {decision: 1}
        page.wait_for_function(f"document.body.dataset.decision === '{decision}'")
        text = page.inner_text("body")
        assert words in text
        assert "张*明" in text
        assert "36.4" in text
