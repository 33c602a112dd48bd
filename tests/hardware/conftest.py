"""Fixtures for the gate's body: a fake MLX90614 on a fake SMBus, mock GPIO pins, a fake clock."""

from __future__ import annotations

import errno
import time
from typing import Callable

import pytest
from gpiozero.pins.mock import MockFactory

from gate.hardware.thermometer import crc8


class FakeMLX90614Bus:
    """An SMBus with one MLX90614 on it, answering like the datasheet (SMBus read word + PEC).

    Set `object_c`, `ambient_c`, `emissivity` to change what it measures; `nacks = n` makes
    the next n reads fail with errno 121 (Remote I/O error, what the Pi's driver reports for a
    NACK); `bad_pec = n` corrupts the PEC of the next n reads; `error_flag = True` sets bit 15
    of temperature words; `present = False` makes every read fail with EIO (bus gone) until it
    is set back to True. `object_sequence` is consumed one value per object read if set.
    """

    def __init__(self, object_c: float = 36.6, ambient_c: float = 24.0, emissivity: float = 1.0,
                 address: int = 0x5A) -> None:
        self.object_c = object_c
        self.ambient_c = ambient_c
        self.emissivity = emissivity
        self.address = address
        self.nacks = 0
        self.bad_pec = 0
        self.error_flag = False
        self.present = True
        self.object_sequence: list[float] = []
        self.reads: list[tuple[int, int]] = []
        self.closed = False

    def _word(self, command: int) -> int:
        if command == 0x07:
            value = self.object_sequence.pop(0) if self.object_sequence else self.object_c
        elif command == 0x06:
            value = self.ambient_c
        elif command == 0x24:
            return round(self.emissivity * 65535)
        else:
            return 0
        word = round((value + 273.15) / 0.02) & 0x7FFF
        return word | 0x8000 if self.error_flag else word

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        self.reads.append((i2c_addr, register))
        if not self.present:
            raise OSError(errno.EIO, "Input/output error")
        if i2c_addr != self.address or self.nacks:
            self.nacks = max(self.nacks - 1, 0)
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        word = self._word(register)
        lsb, msb = word & 0xFF, word >> 8
        pec = crc8([i2c_addr << 1, register, (i2c_addr << 1) | 1, lsb, msb])
        if self.bad_pec:
            self.bad_pec -= 1
            pec ^= 0x5A
        return [lsb, msb, pec][:length]

    def close(self) -> None:
        self.closed = True


class FakeClock:
    """A monotonic clock that moves only when told (`advance`) or slept on."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_bus() -> FakeMLX90614Bus:
    return FakeMLX90614Bus()


@pytest.fixture
def make_bus() -> type[FakeMLX90614Bus]:
    return FakeMLX90614Bus


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pins() -> MockFactory:
    factory = MockFactory()
    yield factory
    factory.reset()


def wait_until(condition: Callable[[], bool], limit_s: float = 3.0) -> bool:
    """Poll a condition that a gpiozero background thread will make true; a bound, not a timing."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def eventually() -> Callable[..., bool]:
    return wait_until
