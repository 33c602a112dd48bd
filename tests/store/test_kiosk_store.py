"""The kiosk's idle tick (gate/kiosk/loop.py) runs the store's checks and puts its faults on the screen."""

from __future__ import annotations

import gate.store.connection
from gate.hardware.thermometer import Reading
from gate.kiosk import Kiosk
from gate.vision.sources import ImageFolderSource
from tests.pki import NOW
from tests.store.storekit import scramble
from tests.store.test_damaged_card import pipeline_at
from tests.screenkit import RecordingScreen


def test_the_idle_tick_shows_a_damaged_store_on_the_screen(pki, tmp_path, monkeypatch):
    path = tmp_path / "state" / "scans.db"
    pipeline = pipeline_at(pki, path)
    (tmp_path / "frames").mkdir()
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "frames" / "0001.png"), np.zeros((48, 64, 3), np.uint8))
    screen = RecordingScreen()
    kiosk = Kiosk(pipeline, ImageFolderSource(tmp_path / "frames"), display=screen)
    try:
        for i in range(100):
            pipeline.scan(pki.code("green", subject=f"p{i}"), Reading(36.5), at=NOW)
        kiosk.housekeeping.status_every_s = 0.0  # every tick does the periodic work
        kiosk.tick(processing=False)
        assert "store_corrupt" not in kiosk.current_faults()
        pipeline.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        scramble(path, first_page=path.stat().st_size // 1024 // 2, pages=6)
        monkeypatch.setattr(gate.store.connection, "IDLE_CHECK_EVERY_S", 0.0)
        kiosk.tick(processing=False)
        assert "store_corrupt" in kiosk.current_faults()
        assert screen.states[-1]["kind"] == "fault" and "store_corrupt" in screen.states[-1]["faults"]
        recovered = pipeline.idle_view()["store_recovered"]
        assert recovered == pipeline.store.recovered_count > 0  # what the idle screen says came back
        assert "FAULT" in kiosk.status_line()
    finally:
        pipeline.close()
