"""The MLX90614 driver against a fake SMBus that answers like the datasheet, and its twins."""

from __future__ import annotations

import pytest

from gate.config import TemperatureConfig
from gate.policy import is_body_temperature
from gate.hardware.thermometer import (
    MLX90614,
    NoThermometer,
    Reading,
    SimulatedThermometer,
    crc8,
    judge,
    open_thermometer,
    raw_to_celsius,
)


@pytest.fixture
def sensor(fake_bus, clock):
    return MLX90614(fake_bus, offset_c=0.0, clock=clock, sleep=clock.sleep)


# -- the wire format ------------------------------------------------------------------------


def test_pec_is_smbus_crc8():
    assert crc8(b"123456789") == 0xF4  # the CRC-8/SMBUS check value
    assert crc8([]) == 0


def test_pec_matches_a_datasheet_style_read_of_tobj1():
    # the datasheet's SMBus example: 0xB4 (0x5A write), 0x07, 0xB5 (read), 0xD2 0x3A, PEC 0x30
    assert crc8([0xB4, 0x07, 0xB5, 0xD2, 0x3A]) == 0x30
    assert raw_to_celsius(0x3AD2) == pytest.approx(28.01, abs=0.001)


def test_raw_word_is_fiftieths_of_a_kelvin():
    assert raw_to_celsius(0x0000) == pytest.approx(-273.15)
    assert raw_to_celsius(round(310.0 / 0.02)) == pytest.approx(36.85, abs=0.001)


# -- one good measurement --------------------------------------------------------------------


def test_reads_object_and_ambient(sensor, fake_bus):
    fake_bus.object_c, fake_bus.ambient_c = 36.5, 22.0
    reading = sensor.read()
    assert reading.state == "ok"
    assert reading.temperature_c == pytest.approx(36.5, abs=0.02)
    assert reading.object_raw_c == pytest.approx(36.5, abs=0.02)
    assert reading.ambient_c == pytest.approx(22.0, abs=0.02)
    assert reading.error is None
    assert {cmd for _, cmd in fake_bus.reads} == {0x06, 0x07}
    assert all(addr == 0x5A for addr, _ in fake_bus.reads)


def test_takes_several_samples_over_a_short_window_and_keeps_the_median(sensor, fake_bus, clock):
    fake_bus.object_sequence = [36.4, 36.6, 39.9, 36.5, 20.0]
    reading = sensor.read()
    assert reading.temperature_c == pytest.approx(36.5, abs=0.02)
    assert sum(1 for _, cmd in fake_bus.reads if cmd == 0x07) == 5
    assert sum(clock.slept) == pytest.approx(0.2)  # the window, on the injected clock


def test_offset_is_added_and_raw_kept(fake_bus, clock):
    sensor = MLX90614(fake_bus, offset_c=0.8, clock=clock, sleep=clock.sleep)
    fake_bus.object_c = 35.9
    reading = sensor.read()
    assert reading.temperature_c == pytest.approx(36.7, abs=0.02)
    assert reading.object_raw_c == pytest.approx(35.9, abs=0.02)


def test_emissivity_from_eeprom(sensor, fake_bus):
    assert sensor.emissivity() == 1.0
    fake_bus.emissivity = 0.98
    assert sensor.emissivity() == pytest.approx(0.98, abs=1e-4)
    assert (0x5A, 0x24) in fake_bus.reads


def test_other_address(make_bus, clock):
    bus = make_bus(object_c=36.9, address=0x5B)
    reading = MLX90614(bus, 0x5B, clock=clock, sleep=clock.sleep).read()
    assert reading.temperature_c == pytest.approx(36.9, abs=0.02)


# -- not a body -----------------------------------------------------------------------------


@pytest.mark.parametrize("object_c", [24.0, 33.9, 43.2, 80.0])
def test_outside_body_range_is_reported_as_measured_for_the_rules_to_judge(sensor, fake_bus, object_c):
    fake_bus.object_c = object_c
    reading = sensor.read()
    assert reading.state == "ok"
    assert reading.temperature_c == pytest.approx(object_c, abs=0.02)
    assert not is_body_temperature(reading.temperature_c)


def test_not_a_body_turns_a_reading_into_no_reading_and_keeps_what_was_measured(sensor, fake_bus):
    fake_bus.object_c = 24.0
    reading = sensor.read().not_a_body()
    assert reading.temperature_c is None and reading.state == "no_body"
    assert reading.object_raw_c == pytest.approx(24.0, abs=0.02)
    assert reading.ambient_c is not None
    assert "not a body temperature" in reading.error
    assert Reading(None, state="sensor_fault", error="x").not_a_body().state == "sensor_fault"


def test_range_is_judged_after_the_offset():
    assert judge(33.5, 20.0, 1.0).temperature_c == 34.5
    assert is_body_temperature(judge(33.5, 20.0, 1.0).temperature_c)
    assert not is_body_temperature(judge(42.5, 20.0, 1.0).temperature_c)
    assert is_body_temperature(judge(34.0, None, 0.0).temperature_c)
    assert is_body_temperature(judge(43.0, None, 0.0).temperature_c)


# -- faults ---------------------------------------------------------------------------------


def test_a_few_nacks_are_retried(sensor, fake_bus):
    fake_bus.nacks = 2
    reading = sensor.read()
    assert reading.state == "ok"


def test_a_silent_sensor_is_a_fault_not_an_exception(sensor, fake_bus):
    fake_bus.nacks = 10_000
    reading = sensor.read()
    assert reading.state == "sensor_fault"
    assert reading.temperature_c is None
    assert "Remote I/O" in reading.error


def test_a_bad_pec_is_retried(sensor, fake_bus):
    fake_bus.bad_pec = 1
    assert sensor.read().state == "ok"


def test_bad_pec_every_time_is_a_fault(sensor, fake_bus):
    fake_bus.bad_pec = 10_000
    reading = sensor.read()
    assert reading.state == "sensor_fault"
    assert "bad PEC" in reading.error


def test_a_bad_pec_is_never_taken_as_a_temperature(sensor, fake_bus):
    fake_bus.bad_pec = 10_000
    with pytest.raises(Exception, match="bad PEC"):
        sensor.read_temperature(0x07)


def test_error_flag_is_a_fault(sensor, fake_bus):
    fake_bus.error_flag = True
    reading = sensor.read()
    assert reading.state == "sensor_fault"
    assert "error flag" in reading.error


def test_a_minority_of_bad_samples_is_tolerated(fake_bus, clock):
    sensor = MLX90614(fake_bus, retries=0, clock=clock, sleep=clock.sleep)
    fake_bus.nacks = 1  # first object read of the first sample fails
    assert sensor.read().state == "ok"


def test_bus_that_disappears_and_comes_back(sensor, fake_bus):
    fake_bus.present = False
    gone = sensor.read()
    assert gone.state == "sensor_fault"
    assert "I2C bus error" in gone.error
    assert sensor.emissivity() is None
    fake_bus.present = True
    back = sensor.read()
    assert back.state == "ok"
    assert sensor.emissivity() == 1.0


def test_a_bus_that_does_not_exist_is_a_fault():
    reading = MLX90614(250, sleep=lambda s: None).read()
    assert reading.state == "sensor_fault"
    assert "cannot open I2C bus 250" in reading.error


def test_an_injected_bus_is_not_closed(sensor, fake_bus):
    sensor.close()
    sensor.close()
    assert not fake_bus.closed


# -- twins and the factory ------------------------------------------------------------------


def test_simulated_reads_what_it_is_told():
    sim = SimulatedThermometer(36.6)
    assert sim.read() == Reading(36.6, 36.6, None, "ok", None)
    sim.set(38.1)
    assert sim.read().temperature_c == 38.1
    sim.set(None)
    assert sim.read().state == "no_body"
    sim.set(25.0)
    assert sim.read().temperature_c == 25.0  # the rules say it is no body (gate.policy)
    sim.fail("wire cut")
    assert sim.read() == Reading(None, state="sensor_fault", error="wire cut")
    sim.set(36.6)
    assert sim.read().state == "ok"


def test_none_is_always_unavailable():
    reading = NoThermometer().read()
    assert not reading.available
    assert reading.state == "sensor_fault"


def test_open_thermometer_follows_the_configuration(fake_bus, clock):
    assert isinstance(open_thermometer(TemperatureConfig(sensor="none")), NoThermometer)
    sim = open_thermometer(TemperatureConfig(sensor="simulated", simulated_c=37.0))
    assert sim.read().temperature_c == 37.0
    real = open_thermometer(
        TemperatureConfig(sensor="mlx90614", offset_c=0.5), bus=fake_bus, clock=clock, sleep=clock.sleep
    )
    assert isinstance(real, MLX90614)
    assert real.read().temperature_c == pytest.approx(37.1, abs=0.02)


def test_reading_to_dict_keeps_everything(sensor):
    assert set(sensor.read().to_dict()) == {"temperature_c", "object_raw_c", "ambient_c", "state", "error"}


def test_a_bus_it_opened_is_reopened_after_it_vanishes_and_waited_on(monkeypatch, fake_bus, clock):
    import smbus2

    opened = []

    def open_bus(number):
        opened.append(number)
        fake_bus.closed = False
        return fake_bus

    monkeypatch.setattr(smbus2, "SMBus", open_bus)
    sensor = MLX90614(1, clock=clock, sleep=clock.sleep)
    assert sensor.read().state == "ok"
    assert clock.slept[0] == pytest.approx(0.25)  # the sensor's wake-up time, before the first sample
    fake_bus.present = False
    assert sensor.read().state == "sensor_fault"
    assert fake_bus.closed
    fake_bus.present = True
    assert sensor.read().state == "ok"
    assert opened == [1, 1]
    sensor.close()
    assert fake_bus.closed
