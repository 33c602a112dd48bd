"""A piece of footage's sidecar script (`<video>.json`): when it starts and what the simulated
thermometer reads while each person stands in front of the camera.

`gate run` on footage reads it (`plan_for`) and hands the appliance what it says, so that a run
over footage is a repeatable test of the whole appliance; `gate demo` writes it. Nothing here makes
footage (that is gate.demo), and the appliance imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from gate.hardware.thermometer import Reading, judge
from gate.kiosk.capture import FootagePlan


def load_script(video: Path) -> dict[str, Any] | None:
    """The sidecar footage.json of a video, if there is one."""
    path = Path(video).with_suffix(".json")
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("start_epoch"), (int, float)) else None


class ScriptedThermometer:
    """The simulated thermometer of a scripted piece of footage: reads what the script says
    the person in front of the camera measures at the current footage time."""

    kind = "simulated"

    def __init__(self, people: list[dict[str, Any]], footage_t: Callable[[], float], default_c: float | None) -> None:
        self.people = people
        self.footage_t = footage_t
        self.default_c = default_c

    def read(self) -> Reading:
        t = self.footage_t()
        value = self.default_c
        for person in self.people:
            if person["from"] <= t <= person["to"]:
                value = person["temp_c"]
                break
        if value is None:
            return Reading(None, state="no_body", error="no reading: nothing warm in front of the sensor")
        return judge(float(value), None, 0.0)

    def emissivity(self) -> float | None:
        return None

    def close(self) -> None:
        pass


def plan_for(config: Any) -> FootagePlan | None:
    """What the sidecar script of `config`'s camera source tells a run over it (its start, and a
    scripted thermometer when the configured sensor is simulated); None without a script."""
    script = load_script(Path(str(config.camera.source)))
    if script is None:
        return None
    people = script.get("people", [])
    default_c = config.temperature.simulated_c
    return FootagePlan(start_epoch=float(script["start_epoch"]),
                       thermometer=lambda footage_t: ScriptedThermometer(people, footage_t, default_c))
