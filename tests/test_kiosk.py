"""The kiosk end to end: footage in, one record per person with the rule's decision; faults
never open the gate; systemd hears READY and WATCHDOG only from a working loop."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.demo import PEOPLE, make_footage, write_demo_config
from gate.hardware.thermometer import SimulatedThermometer
from gate.kiosk import Kiosk
from gate.pipeline import open_pipeline
from gate.sdnotify import Notifier
from gate.vision.sources import SourceState, V4L2Source
from gate.vision.synthetic import code_picture
from tests.pki import NOW

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    return make_footage(tmp_path_factory.mktemp("footage"), ROOT / "keys" / "demo")


def demo_config(tmp_path: Path, footage: Path) -> Path:
    return write_demo_config(tmp_path / "gate.toml", ROOT, store=tmp_path / "var" / "scans.db", footage=footage)


def test_gate_run_on_footage_gives_one_record_per_person_with_the_right_decision(tmp_path, footage):
    config = demo_config(tmp_path, footage)
    done = subprocess.run([sys.executable, "-m", "gate.cli", "run", "--config", str(config), "--headless", "--jsonl"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["decision"] for line in lines] == [p.expect for p in PEOPLE]
    assert [line["relay_pulsed"] for line in lines] == [p.expect == "allow" for p in PEOPLE]
    conn = sqlite3.connect(tmp_path / "var" / "scans.db")
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == len(PEOPLE)
    assert {row[0] for row in conn.execute("SELECT id FROM records")} == {line["record_id"] for line in lines}


def test_gate_demo_shows_every_decision_and_exits_0(tmp_path, footage, monkeypatch):
    from click.testing import CliRunner

    import gate.cli.demo_cmd as demo_cmd
    from gate.cli import main

    monkeypatch.setattr(demo_cmd, "footage_for", lambda config, video, keys: footage)
    result = CliRunner().invoke(main, ["demo", "--headless"])
    assert result.exit_code == 0, result.output
    for decision in ("ALLOW", "DENY", "RECHECK", "REFER", "HOLD", "MANUAL"):
        assert decision in result.output
    assert "every person got the decision the rules require" in result.output


class FlakyCamera:
    """A cv2.VideoCapture stand-in: a few frames with a code, then the camera is unplugged."""

    def __init__(self, frames: list[np.ndarray], plugged: list[bool]) -> None:
        self.frames = frames
        self.plugged = plugged

    def isOpened(self) -> bool:
        return self.plugged[0]

    def read(self):
        time.sleep(0.02)  # a camera delivers at its frame rate, not as fast as it is asked
        if not self.plugged[0] or not self.frames:
            self.plugged[0] = False
            return False, None
        return True, self.frames.pop(0)

    def release(self) -> None:
        pass

    def set(self, prop: int, value: float) -> bool:
        return True


def code_frame(text: str) -> np.ndarray:
    return code_picture(text, background_level=255)


def test_a_lost_camera_is_reported_and_reopened_and_never_opens_the_gate(pki, tmp_path):
    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                             clock=lambda: NOW, body_options={"timer": False})
    plugged = [True]
    opened = []
    green, red = code_frame(pki.code("green")), code_frame(pki.code("red"))

    def factory(device):
        opened.append(device)
        plugged[0] = True
        return FlakyCamera([green] * 5 if len(opened) == 1 else [red] * 2, plugged)

    states: list[str] = []
    holder: dict[str, Kiosk] = {}

    def on_state(state: SourceState, detail: str) -> None:
        states.append(state.value)
        if "k" in holder:
            holder["k"].camera_state(state, detail)

    source = V4L2Source(0, 640, 480, None, on_state=on_state, capture_factory=factory, backoff_s=0.01, poll_s=0.01)
    kiosk = Kiosk(pipeline, source)
    holder["k"] = kiosk
    outcomes = []
    kiosk.on_outcome = outcomes.append
    stop = threading.Event()
    runner = threading.Thread(target=kiosk.run, args=(stop,))
    runner.start()
    for _ in range(500):
        if len(outcomes) >= 2:
            break
        stop.wait(0.01)
    stop.set()
    runner.join(5)
    pipeline.close()
    assert [o.decision.decision for o in outcomes] == ["allow", "hold"]
    assert "lost" in states and states.count("open") >= 2
    assert source.reconnects >= 1


def test_a_decoder_fault_skips_the_frame_and_keeps_the_gate_shut(pki, tmp_path):
    class BrokenDecoder:
        def decode(self, image):
            raise RuntimeError("decoder crashed")

    config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                    temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                    store=StoreConfig(path=tmp_path / "scans.db"))
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                             body_options={"timer": False})
    folder = tmp_path / "frames"
    folder.mkdir()
    import cv2

    cv2.imwrite(str(folder / "0001.png"), code_frame(pki.code("green")))
    from gate.vision.sources import ImageFolderSource

    kiosk = Kiosk(pipeline, ImageFolderSource(folder), decoder=BrokenDecoder())
    stats = kiosk.run()
    assert (stats.frames, stats.decoder_errors, sum(stats.decisions.values())) == (1, 1, 0)
    assert not pipeline.body.relay_open
    pipeline.close()


def test_systemd_hears_ready_watchdog_and_status(tmp_path):
    address = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(2)
    notifier = Notifier(address)
    assert notifier.ready("camera delivers frames")
    assert server.recv(1024) == b"READY=1\nSTATUS=camera delivers frames"
    assert notifier.watchdog()
    assert server.recv(1024) == b"WATCHDOG=1"
    notifier.close()
    server.close()


def test_outside_systemd_notifications_do_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier().enabled
    assert Notifier().watchdog() is False


def test_the_kiosk_speaks_each_persons_decision_on_the_simulated_speaker(tmp_path, footage):
    from gate.config import load_config
    from gate.footage import plan_for
    from gate.kiosk import assemble
    from gate.voice import lines_for

    outcomes = []
    holder = {}

    def heard(outcome) -> None:  # each prompt played before the next person (footage runs fast)
        outcomes.append(outcome)
        assert holder["speaker"].wait_idle(5)

    config = load_config(demo_config(tmp_path, footage))
    appliance = assemble(config, headless=True, on_outcome=heard, footage=plan_for(config))
    holder["speaker"] = speaker = appliance.pipeline.body.speaker
    try:
        appliance.kiosk.run()
    finally:
        appliance.close()
    assert speaker.player.kind == "simulated" and speaker.fault is None
    expected = [line.text for o in outcomes for line in lines_for(
        o.decision.decision, o.decision.reasons, config.venue.type, o.reading.temperature_c, config.voice)]
    assert speaker.player.texts == expected
    assert [o.decision.decision for o in outcomes] == [p.expect for p in PEOPLE]
    said = " | ".join(speaker.player.texts)  # the demo venue speaks both languages and the temperature
    assert "体温三十六点五度 | 请通行" in said and "请在原地等候工作人员" in said and "Please go through" in said


def test_a_read_only_store_shows_on_the_screen_with_the_gate_shut(pki, tmp_path):
    from gate.display import DisplayServer
    from gate.store import Store
    from gate.vision.sources import ImageFolderSource
    from tests.store.storekit import mounted, run as _run

    source = tmp_path / "rw"
    source.mkdir()
    Store(source / "scans.db").close()
    with mounted(tmp_path / "ro", "--bind", str(source)) as ro:
        if _run("mount", "-o", "remount,bind,ro", str(ro)).returncode != 0:
            pytest.skip("a read-only bind mount is not permitted here")
        config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                        temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=pki.trust_dir),
                        store=StoreConfig(path=ro / "scans.db"))
        pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.4),
                                 persist_floor=False, clock=lambda: NOW, body_options={"timer": False})
        folder = tmp_path / "frames"
        folder.mkdir()
        import cv2

        cv2.imwrite(str(folder / "0001.png"), code_picture(pki.code("green"), at=(60, 60)))
        with DisplayServer(port=0).start() as screen:
            stats = Kiosk(pipeline, ImageFolderSource(folder), display=screen).run()
            pipeline.close()
            state = screen.app.snapshot()
        assert state["faults"] == ["store_read_only"] and state["gate_shut"] is True
        assert stats.decisions == {"deny": 1} and not pipeline.body.relay_open
