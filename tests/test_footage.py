"""gate.footage: what a footage's sidecar script tells a run over it, handed to the appliance."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from gate.footage import ScriptedThermometer, plan_for


def _config(video: Path, sensor: str = "simulated") -> SimpleNamespace:
    return SimpleNamespace(camera=SimpleNamespace(source=str(video)),
                           temperature=SimpleNamespace(sensor=sensor, simulated_c=36.6))


def test_a_script_gives_the_start_and_a_thermometer_reading_what_it_says(tmp_path):
    video = tmp_path / "clip.mp4"
    video.with_suffix(".json").write_text(json.dumps(
        {"start_epoch": 1_795_000_000, "people": [{"from": 1.0, "to": 2.0, "temp_c": 38.4}]}))
    plan = plan_for(_config(video))
    assert plan is not None and plan.start_epoch == 1_795_000_000.0
    t = [0.5]
    thermometer = plan.thermometer(lambda: t[0])
    assert isinstance(thermometer, ScriptedThermometer)
    assert thermometer.read().temperature_c == 36.6  # nobody scripted: the configured simulated value
    t[0] = 1.5
    assert thermometer.read().temperature_c == 38.4


def test_no_script_no_plan(tmp_path):
    assert plan_for(_config(tmp_path / "clip.mp4")) is None
    (tmp_path / "bad.json").write_text("{not json")
    assert plan_for(_config(tmp_path / "bad.mp4")) is None
