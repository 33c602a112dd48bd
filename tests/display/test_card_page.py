"""A venue card on the screen, in real Chromium (Playwright): the kiosk reads a card from its
footage and the page shows the venue to confirm, in Chinese and English, with the seconds left;
applied and refused are one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.display import DisplayServer
from gate.hardware.thermometer import SimulatedThermometer
from gate.kiosk import FootageClock, Kiosk
from gate.reload import Reloader
from gate.vision.sources import ImageFolderSource
from tests.directives.conftest import directive_key, dpki  # noqa: F401  (fixtures)
from tests.kiosk.test_venue_cards import card, footage
from tests.pki import NOW
from tests.setup.kit import write_gate


@pytest.fixture
def page(browser_page):
    return browser_page(800, 480, locale="zh-CN")


def test_a_card_read_by_the_kiosk_shows_the_venue_to_confirm_and_the_seconds_left(tmp_path, dpki, directive_key, page):
    from gate.config import load_config
    from gate.pipeline import open_pipeline

    path = write_gate(tmp_path / "etc", dpki.trust_dir, "")
    path.write_text(path.read_text().replace('sensor = "mlx90614"', 'sensor = "simulated"'))
    clock = FootageClock(NOW)
    pipeline = open_pipeline(load_config(path), simulated_io=True, thermometer=SimulatedThermometer(36.5),
                             persist_floor=False, clock=clock)
    frames = footage(tmp_path / "frames", [(0, card(directive_key, venue_id="metro-line-2-gate-7", venue_type="metro",
                                                    community_codes=()))])
    with DisplayServer(port=0).start() as screen:
        page.goto(screen.url)
        page.wait_for_function("document.body.dataset.seq !== undefined")
        kiosk = Kiosk(pipeline, ImageFolderSource(frames, frame_interval_s=1.0), display=screen, footage_clock=clock)
        kiosk.reloader = Reloader(path)
        try:
            kiosk.run()
        finally:
            pipeline.close()
        page.wait_for_function("document.body.dataset.card === 'confirm'")
        shown = page.inner_text("body")
        assert "请按值守按钮确认更改场所设置" in shown and "Press the attendant button" in shown
        assert "metro-line-2-gate-7" in shown and "metro" in shown
        seconds = int(page.inner_text("#card-seconds"))
        assert 0 < seconds <= 20
        assert page.is_visible("#card-view") and not page.is_visible("#decision-view") and not page.is_visible("#idle-view")
        assert page.evaluate("document.body.dataset.decision") == ""  # never a person's decision


@pytest.mark.parametrize(("step", "words"), [
    ({"stage": "applied", "en": "Venue set", "zh": "场所已设置",
      "venue": {"id": "v-2", "type": "residential", "community_codes": ["360105-001"]}}, ["场所已设置", "Venue set", "360105-001"]),
    ({"stage": "refused", "en": "Venue card expired", "zh": "场所卡已过期", "reason": "card_expired"},
     ["场所卡已过期", "Venue card expired"]),
])
def test_applied_and_refused_cards_show_their_line_in_both_languages(page, step, words):
    with DisplayServer(port=0).start() as screen:
        page.goto(screen.url)
        page.wait_for_function("document.body.dataset.seq !== undefined")
        screen.publish({"kind": "venue_card", **step})
        page.wait_for_function(f"document.body.dataset.card === '{step['stage']}'")
        shown = page.inner_text("#card-view")
        assert all(w in shown for w in words)
        assert not page.is_visible("#card-countdown")
        assert page.is_visible("#card-venue") == ("venue" in step)
