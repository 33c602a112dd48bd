"""The signal lights, driven from more than one thread (the kiosk's loop and the capture thread)."""

from __future__ import annotations

import threading

from gpiozero.pins.mock import MockFactory

from gate.hardware.lights import Lights


def test_lights_driven_from_two_threads_at_once_never_fail():
    lights = Lights(22, 27, 23, pin_factory=MockFactory(), blink_s=0.01)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def drive(colour: str) -> None:
        start.wait()
        try:
            for _ in range(300):
                lights.show(colour, blink=True)
                lights.off()
        except BaseException as exc:  # noqa: BLE001  (collected: the test names it)
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(c,)) for c in ("yellow", "red")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lights.close()
    assert errors == []
