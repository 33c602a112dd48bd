"""The kiosk: camera frames in, decisions out, for as long as the gate stands, in parts with one
job each:

- `loop` (`Kiosk`): puts the parts below together, and the loop's tick between frames; asks the
  pipeline for what it needs through its methods.
- `frames` (`FrameLoop`): a live camera or footage, frame by frame; each new text to its handler.
- `decisions` (`Decisions`): a person's code decided by the decision path, a venue card's step.
- `servicing` (`FaultsAndService`): the kiosk's faults, the camera's state, service mode.
- `capture`: the newest frame of a live camera (`LatestFrame`), the footage's clock.
- `fault_board`: the fault codes in force and which the screen shows.
- `screen`: `ScreenState` (a value, serialised once for gate/display) and its publisher.
- `live_view`: the small JPEG of the camera while idle.
- `housekeeping`: systemd's watchdog and STATUS=, the metrics' gauges.
- `venue_cards`: the venue card's conversation and the attendant's button.
- `stats`: what was counted. `appliance`: `assemble()` and `Appliance`.
"""

from gate.kiosk.appliance import Appliance, assemble
from gate.kiosk.capture import FootageClock, LatestFrame
from gate.kiosk.housekeeping import STATUS_EVERY_S
from gate.kiosk.live_view import LIVE_VIEW_EVERY_S
from gate.kiosk.loop import Kiosk
from gate.kiosk.screen import DECISION_SHOWN_S, Display, ScreenState, decision_state
from gate.kiosk.stats import KioskStats

__all__ = ["DECISION_SHOWN_S", "LIVE_VIEW_EVERY_S", "STATUS_EVERY_S", "Appliance", "Display", "FootageClock",
           "Kiosk", "KioskStats", "LatestFrame", "ScreenState", "assemble", "decision_state"]
