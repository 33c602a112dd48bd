"""The screen end to end: a scan through the kiosk appears on the page a browser renders."""

from __future__ import annotations

import cv2
import pytest

from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.display import DisplayServer
from gate.faults import fault
from gate.hardware.speaker import RecordingPlayer, Speaker
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


def _screen_pipeline(pki, tmp_path, clock):
    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    return open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.4), persist_floor=False,
                         clock=clock, body_options={"timer": False})


@pytest.mark.parametrize(("at", "faults"), [
    (NOW, []),
    (NOW - 30 * 86400, ["clock_untrusted"]),  # the system clock below the lists' issued_at
    (NOW + 40 * 86400, ["status_list_stale", "trust_list_stale"]),
])
def test_every_condition_that_flags_records_shows_on_the_screen(pki, tmp_path, browser_page, at, faults):
    import json
    import urllib.request

    pipeline = _screen_pipeline(pki, tmp_path, lambda: at)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), code_picture(pki.code("green", iat=at - 600), at=(60, 60)))
    page = browser_page(800, 480)
    with DisplayServer(port=0).start() as screen:
        page.goto(screen.url)
        outcomes = []
        kiosk = Kiosk(pipeline, ImageFolderSource(folder), display=screen, on_outcome=outcomes.append)
        kiosk.run()
        pipeline.close()
        with urllib.request.urlopen(screen.url + "state.json") as answer:
            state = json.load(answer)
        assert state["faults"] == faults
        assert outcomes[0].record.faults == faults  # the screen and the record say the same
        if faults:
            page.wait_for_function("!document.getElementById('fault').hidden")
            text = str(page.evaluate("document.getElementById('fault').innerText"))
            for line in state["fault_lines"]:
                assert f"{line['zh']} · {line['en']}" in text


def test_no_status_list_in_force_shows_on_the_screen_and_every_scan_is_manual(pki, tmp_path):
    (pki.trust_dir / "statuslist.json").unlink()
    pipeline = _screen_pipeline(pki, tmp_path, lambda: NOW)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), code_picture(pki.code("green"), at=(60, 60)))
    with DisplayServer(port=0).start() as screen:
        stats = Kiosk(pipeline, ImageFolderSource(folder), display=screen).run()
        pipeline.close()
        assert stats.decisions == {"manual": 1}
        assert screen.app.snapshot()["faults"] == ["status_list_missing"]


def test_a_missing_sound_card_is_on_the_screens_fault_banner_and_the_gate_still_works(pki, tmp_path, browser_page):
    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.4), persist_floor=False,
                             clock=lambda: NOW, body_options={"timer": False,
                                                              "speaker": Speaker(RecordingPlayer(missing=True))})
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), code_picture(pki.code("green"), at=(60, 60)))
    page = browser_page(800, 480)
    with DisplayServer(port=0).start() as screen:
        page.goto(screen.url)
        page.wait_for_function("document.body.dataset.seq !== undefined")
        stats = Kiosk(pipeline, ImageFolderSource(folder), display=screen).run()
        pipeline.close()
        assert stats.decisions == {"allow": 1}
        page.wait_for_function("document.getElementById('fault').hidden === false")
        assert fault("speaker_missing").zh in str(page.evaluate("document.body.innerText"))
