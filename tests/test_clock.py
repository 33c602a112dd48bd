"""The time floor: a clock below it is not trusted, and the floor survives a restart."""

from __future__ import annotations

from gate.clock import SAVE_STEP_S, TimeFloor


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_clock_above_the_floor_is_trusted(tmp_path):
    floor = TimeFloor(tmp_path / "floor.json", clock=FakeClock(2000))
    floor.raise_to(1000)
    assert floor.now().trusted and floor.now().now == 2000


def test_a_clock_below_the_floor_is_replaced_by_the_floor(tmp_path):
    floor = TimeFloor(tmp_path / "floor.json", clock=FakeClock(500))
    floor.observe_code(iat=1300, skew=300)
    t = floor.now()
    assert (t.trusted, t.now) == (False, 1000)


def test_the_floor_survives_a_restart(tmp_path):
    clock = FakeClock(10_000)
    floor = TimeFloor(tmp_path / "floor.json", clock=clock)
    floor.tick()
    rebooted = TimeFloor(tmp_path / "floor.json", clock=FakeClock(100))
    assert rebooted.now() .trusted is False
    assert rebooted.now().now == 10_000


def test_small_advances_are_not_written_every_time(tmp_path):
    floor = TimeFloor(tmp_path / "floor.json", clock=FakeClock(0))
    floor.raise_to(10_000)
    floor.raise_to(10_000 + SAVE_STEP_S / 2)
    assert TimeFloor(tmp_path / "floor.json").floor == 10_000


def test_the_floor_never_goes_down(tmp_path):
    floor = TimeFloor(tmp_path / "floor.json", clock=FakeClock(0))
    floor.raise_to(5000)
    floor.raise_to(100)
    assert floor.floor == 5000


def test_an_unreadable_floor_file_counts_as_none(tmp_path):
    (tmp_path / "floor.json").write_text("garbage")
    assert TimeFloor(tmp_path / "floor.json", clock=FakeClock(1)).now().trusted


def test_a_floor_that_cannot_be_written_is_kept_in_memory_and_does_not_stop_the_gate(tmp_path, caplog):
    from gate.clock import TimeFloor

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the floor's folder should be")
    floor = TimeFloor(blocker / "timefloor.json", clock=lambda: 2_000_000_000.0)
    floor.raise_to(1_900_000_000.0)
    floor.save()
    floor.raise_to(1_900_001_000.0)  # a second failure is not logged again
    assert floor.floor == 1_900_001_000.0
    assert floor.now().trusted
    assert sum("cannot be written" in r.getMessage() for r in caplog.records) == 1


def test_a_fifo_as_the_floor_file_is_not_read(tmp_path):
    import os

    from gate.clock import TimeFloor

    os.mkfifo(tmp_path / "timefloor.json")
    assert TimeFloor(tmp_path / "timefloor.json").floor == 0.0
