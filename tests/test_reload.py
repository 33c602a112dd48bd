"""The running kiosk reloads its configuration between two scans (SIGHUP, `systemctl reload`),
re-opening only what changed, and refuses a file that would not start the gate."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest

from gate.config import load_config
from gate.hardware.thermometer import Reading
from gate.reload import Reloader, changed_sections
from tests.setup.kit import RunningGate, code_frame, write_gate


@pytest.fixture
def gate(tmp_path, pki, monkeypatch):
    monkeypatch.setenv("GATE_RUNTIME_DIR", str(tmp_path / "run"))
    running = RunningGate.start(write_gate(tmp_path / "etc", pki.trust_dir, ""))
    yield running
    running.close()


class HeldThermometer:
    """A thermometer whose reading is held until the test lets it go: a scan in progress."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.measuring = threading.Event()
        self.release = threading.Event()
        self.offset_c = 0.0

    def read(self) -> Reading:
        self.measuring.set()
        assert self.release.wait(10)
        return self.inner.read()

    def emissivity(self):
        return None

    def close(self) -> None:
        self.inner.close()


def rewrite(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def venue_types_recorded(gate: RunningGate) -> list[str]:
    from gate.store import Store

    with Store(gate.kiosk.pipeline.config.store.path) as store:
        return [record.venue_type for record in store.pending(10_000)]


def test_a_reload_asked_for_during_a_scan_waits_for_it_and_the_next_scan_uses_the_new_venue(gate, pki):
    held = HeldThermometer(gate.kiosk.pipeline.thermometer)
    gate.kiosk.pipeline.thermometer = held
    first = pki.code("green", subject="alice")
    gate.source.feed(code_frame(first))
    assert held.measuring.wait(10)  # the kiosk is inside alice's scan
    rewrite(gate.config_path, 'type = "residential"', 'type = "metro"')
    rewrite(gate.config_path, 'id = "360102-012-north-gate"', 'id = "metro-line-1-gate-3"')
    generation = gate.kiosk.reloader.request()  # what SIGHUP's handler does
    assert gate.kiosk.reloader.last is None  # not applied in the middle of a scan
    held.release.set()
    result = gate.kiosk.reloader.wait(generation, 10)
    assert result is not None and result.ok and set(result.changed) == {"venue"}
    assert result.reopened == ()  # a new venue re-opens nothing: same camera, same thermometer
    gate.wait_handled(1)  # alice's frame is done (the reload ran in its tick, before it was counted)
    gate.show(code_frame(pki.code("green", subject="bob")))
    assert [o.record.venue_type for o in gate.outcomes] == ["residential", "metro"]
    assert gate.outcomes[1].record.venue_id == "metro-line-1-gate-3"
    assert venue_types_recorded(gate) == ["residential", "metro"]  # no scan lost
    assert gate.kiosk.source is gate.source  # the camera was not restarted


def test_a_file_that_does_not_validate_is_refused_and_the_old_configuration_kept(gate, pki):
    before = gate.kiosk.pipeline.config
    rewrite(gate.config_path, 'type = "residential"', 'type = "mall"')
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result is not None and not result.ok
    assert result.errors[0].startswith(f"{gate.config_path}: [venue] type = \"mall\" is not allowed")
    assert gate.kiosk.pipeline.config is before
    assert "config_rejected" in gate.kiosk.current_faults()
    assert gate.kiosk.fault_details["config_rejected"] == result.errors[0]
    gate.show(code_frame(pki.code("green")))
    assert gate.outcomes[-1].record.venue_type == "residential"
    # a good file afterwards is taken, and the fault goes
    rewrite(gate.config_path, 'type = "mall"', 'type = "public_place"')
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result.ok and gate.kiosk.pipeline.config.venue.type == "public_place"
    assert "config_rejected" not in gate.kiosk.current_faults()


def test_a_refused_reload_is_logged(gate, caplog):
    rewrite(gate.config_path, "[temperature]", "[temperature]\nfever = 1")
    with caplog.at_level("ERROR", logger="gate.reload"):
        result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert not result.ok
    assert any("configuration reload refused, the one in force is kept" in r.getMessage() for r in caplog.records)


def test_a_new_offset_is_set_in_the_thermometer_without_re_opening_it(gate):
    thermometer = gate.kiosk.pipeline.thermometer
    rewrite(gate.config_path, "offset_c = 0.0", "offset_c = 0.4")
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result.ok and result.reopened == ()
    assert gate.kiosk.pipeline.thermometer is thermometer and thermometer.offset_c == 0.4


def test_new_pins_re_open_the_gates_body(gate):
    old_body = gate.kiosk.pipeline.body
    rewrite(gate.config_path, "[store]", "[io]\nrelay_pin = 16\n\n[store]")
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result.ok and result.reopened == ("io",)
    body = gate.kiosk.pipeline.body
    assert body is not old_body and body.io.relay_pin == 16
    assert body.on_override == gate.kiosk.pipeline.record_override  # the attendant's button still records
    assert body.on_button == gate.kiosk.pipeline._button_pressed  # and still confirms a waiting venue card


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")
def test_a_real_sighup_reloads_the_running_kiosk(gate):
    rewrite(gate.config_path, 'type = "residential"', 'type = "bus_taxi"')
    os.kill(os.getpid(), signal.SIGHUP)
    result = gate.kiosk.reloader.wait(1, 10)
    assert result is not None and result.ok
    assert gate.kiosk.pipeline.config.venue.type == "bus_taxi"


def test_changed_sections_names_only_what_differs(tmp_path, pki):
    path = write_gate(tmp_path, pki.trust_dir, "")
    old = load_config(path)
    rewrite(path, "offset_c = 0.0", "offset_c = 0.2")
    assert changed_sections(old, load_config(path)) == ("temperature",)


def test_a_reloader_without_a_request_does_nothing(tmp_path, pki):
    reloader = Reloader(write_gate(tmp_path, pki.trust_dir, ""))
    assert reloader.apply_pending(object()) is None


def test_a_new_camera_source_is_opened_and_read_without_restarting_the_kiosk(gate, pki):
    import cv2

    folder = gate.config_path.parent / "frames2"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), code_frame(pki.code("green", subject="carol")))
    decided = threading.Event()
    gate.kiosk.on_outcome = lambda outcome: (gate.outcomes.append(outcome), decided.set())
    old_source = gate.source
    rewrite(gate.config_path, 'source = "frames"', 'source = "frames2"')
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result.ok and result.reopened == ("camera",)
    assert decided.wait(10)  # the kiosk's loop reads the new camera
    assert gate.kiosk.source is not old_source and old_source.state.value == "closed"
    assert gate.thread.is_alive()


def test_a_camera_that_cannot_be_opened_keeps_the_old_one_and_the_rest_applies(gate):
    rewrite(gate.config_path, 'source = "frames"', 'source = "no-such-folder"')
    rewrite(gate.config_path, 'type = "residential"', 'type = "metro"')
    result = gate.kiosk.reloader.wait(gate.kiosk.reloader.request(), 10)
    assert result.ok and gate.kiosk.source is gate.source
    assert result.notes[0].startswith("camera not changed: camera.source ") and "no-such-folder" in result.notes[0]
    assert gate.kiosk.pipeline.config.venue.type == "metro"
    assert gate.kiosk.pipeline.config.camera.source.endswith("frames")


def test_gate_run_reloads_on_a_real_sighup_and_refuses_a_bad_file(tmp_path, pki):
    """The whole wiring of `gate run`: its SIGHUP handler, its control channel, its kiosk loop."""
    import subprocess
    import sys
    import time

    from gate.control import KioskClient

    path = write_gate(tmp_path / "etc", pki.trust_dir, "")
    rewrite(path, 'source = "frames"', 'source = "9"')  # no such camera: the kiosk waits for it, live
    rewrite(path, 'sensor = "mlx90614"', 'sensor = "simulated"')
    run_dir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "gate.cli", "run", "--config", str(path), "--headless",
                                "--simulate-io"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "GATE_RUNTIME_DIR": str(run_dir)})
    client = KioskClient(run_dir)

    def until(predicate, what: str):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status = client.status()
            except Exception:  # noqa: BLE001  (not up yet)
                status = None
            if status is not None and predicate(status):
                return status
            threading.Event().wait(0.1)
        raise AssertionError(f"gate run never {what}")

    try:
        until(lambda s: True, "opened its control channel")
        rewrite(path, 'type = "residential"', 'type = "metro"')
        process.send_signal(signal.SIGHUP)
        status = until(lambda s: s["reload"] is not None, "reloaded")
        assert status["reload"]["ok"] and status["reload"]["changed"] == ["venue"]
        rewrite(path, 'type = "metro"', 'type = "stadium"')
        process.send_signal(signal.SIGHUP)
        status = until(lambda s: s["reload"]["generation"] == 2, "reloaded a second time")
        assert not status["reload"]["ok"]
        assert "config_rejected" in status["faults"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err[-2000:]
    assert "configuration reload refused, the one in force is kept" in err
    assert not (run_dir / "control.json").exists()
