"""The appliance's code path (`gate run` on a camera) imports no test or demo code: not the
synthetic footage maker, not the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_THE_APPLIANCE = ("gate.vision.synthetic", "gate.demo")

PROBE = """
import json, sys
from pathlib import Path
import gate.kiosk, gate.cli.run_cmd
from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig, CameraConfig
from gate.kiosk import assemble

folder = Path(sys.argv[1])
config = Config(device=DeviceConfig(id="g1"), venue=VenueConfig(id="v", type="metro"),
                temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=Path(sys.argv[2])),
                store=StoreConfig(path=folder / "scans.db"), camera=CameraConfig(source=str(folder / "frames")))
appliance = assemble(config, headless=True, simulate_io=True)
appliance.kiosk.run()
appliance.close()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gate"))))
"""


def test_the_appliance_path_imports_no_synthetic_footage_test_kit_or_demo(pki, tmp_path):
    import cv2
    import numpy as np

    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "0001.png"), np.full((48, 64, 3), 200, np.uint8))
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), str(pki.trust_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert {"gate.kiosk", "gate.kiosk.loop", "gate.cli.run_cmd", "gate.pipeline"} <= loaded  # the probe ran the path
    assert loaded.isdisjoint(NOT_IN_THE_APPLIANCE), sorted(loaded & set(NOT_IN_THE_APPLIANCE))
