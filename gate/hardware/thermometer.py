"""The forehead thermometer: an MLX90614 IR sensor on I2C, and its simulated and absent twins.

Wiring (MLX90614 breakout, 3.3 V version): VIN to 3V3 (pin 1), GND to a ground pin, SDA to
GPIO2 (pin 3), SCL to GPIO3 (pin 5); enable I2C with `raspi-config` (Interface Options, I2C);
the sensor answers at address 0x5A (`i2cdetect -y 1`). Mount it 3-5 cm from where the forehead
will be, pointing straight at it; the breakout's field of view is wide (about 90° for the
"AAA" part), so a reading from further away averages the forehead with the background.

One measurement (`read()`) takes several samples over a short window, keeps the median, adds
the configured calibration offset. Whether a value is a body temperature at all (not a wall, a
hat, nobody there) is the venue rules' call (`gate.policy.BODY_RANGE_C`): the thermometer reports
what it measured, and the pipeline turns a reading the rules refused into no reading
(`Reading.not_a_body`). Every answer is a `Reading`; a broken or missing sensor is a `Reading`
with `state="sensor_fault"` and the reason, never an exception.
"""

from __future__ import annotations

import errno
import statistics
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Protocol

from gate.errors import GateError

STATES: tuple[str, ...] = ("ok", "no_body", "sensor_fault")

DEFAULT_ADDRESS = 0x5A
RAM_AMBIENT = 0x06  # Ta
RAM_OBJECT_1 = 0x07  # Tobj1
EEPROM_EMISSIVITY = 0x24  # EEPROM access opcode 0x20 | cell 0x04

# The Pi's I2C driver reports a NACK (sensor busy, asleep, glitch on the bus) as EREMOTEIO.
_TRANSIENT_ERRNOS = frozenset({errno.EREMOTEIO})


@dataclass(frozen=True, slots=True)
class Reading:
    """One temperature measurement, as the venue rules and the scan record see it.

    `temperature_c` is the calibrated temperature measured, or None when there is none to use
    (`state` says why: "no_body" for nothing, or something that is not a body, in front of the
    sensor; "sensor_fault" for a sensor that did not answer properly, with `error` saying how).
    `object_raw_c` (median object temperature before the offset) and `ambient_c` are kept
    whenever the sensor answered.
    """

    temperature_c: float | None
    object_raw_c: float | None = None
    ambient_c: float | None = None
    state: str = "ok"
    error: str | None = None

    @property
    def available(self) -> bool:
        """True when there is a body temperature to decide on."""
        return self.temperature_c is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def not_a_body(self) -> "Reading":
        """This reading taken as no reading: the rules found it is not a body temperature.

        The measured values stay in `object_raw_c` and `ambient_c` for the record.
        """
        if self.temperature_c is None:
            return self
        return replace(self, temperature_c=None, state="no_body",
                       error=f"{self.temperature_c:.2f} °C is not a body temperature: nobody in front of the sensor")


def judge(object_c: float, ambient_c: float | None, offset_c: float) -> Reading:
    """Turn a raw object temperature into a Reading: the calibration offset added.

    Whether it is a body temperature is for the rules to say (gate.policy.BODY_RANGE_C).
    """
    final = round(object_c + offset_c, 2)
    raw = round(object_c, 2)
    ambient = None if ambient_c is None else round(ambient_c, 2)
    return Reading(temperature_c=final, object_raw_c=raw, ambient_c=ambient, state="ok")


class Thermometer(Protocol):
    """What the kiosk, `gate replay` and `gate doctor` need from any thermometer."""

    kind: str

    def read(self) -> Reading: ...

    def emissivity(self) -> float | None: ...

    def close(self) -> None: ...


class SMBusLike(Protocol):
    """The part of smbus2.SMBus the driver uses (a fake bus in tests provides the same)."""

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def close(self) -> None: ...


def crc8(data: bytes | list[int]) -> int:
    """SMBus packet error code: CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def raw_to_celsius(word: int) -> float:
    """MLX90614 RAM temperature word (0.02 K per step, bit 15 excluded) to °C."""
    return (word & 0x7FFF) * 0.02 - 273.15


class SensorError(GateError):
    """One read of the sensor failed; `transient` errors are worth retrying at once."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class MLX90614:
    """Melexis MLX90614 infrared thermometer on an SMBus (see the module docstring for wiring).

    `bus` is an I2C bus number (opened with smbus2 when first needed, reopened after the bus
    goes away) or an object with smbus2's `read_i2c_block_data` (used as given, never closed
    here). Every word read is checked against its PEC byte and, for temperatures, the error
    flag; a NACK (errno 121), a bad PEC or the error flag is retried `retries` times.

    `clock` and `sleep` are injectable so tests take no time.
    """

    kind = "mlx90614"

    def __init__(
        self,
        bus: int | SMBusLike = 1,
        address: int = DEFAULT_ADDRESS,
        *,
        offset_c: float = 0.0,
        samples: int = 5,
        window_s: float = 0.2,
        warmup_s: float = 0.25,
        retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if samples < 1:
            raise ValueError("samples must be at least 1")
        self.address = address
        self.offset_c = offset_c
        self.samples = samples
        self.window_s = window_s
        self.warmup_s = warmup_s
        self.retries = retries
        self._clock = clock
        self._sleep = sleep
        if isinstance(bus, int):
            self.bus_number: int | None = bus
            self._bus: SMBusLike | None = None
            self._owns_bus = True
            self._ready_at = 0.0
        else:
            self.bus_number = None
            self._bus = bus
            self._owns_bus = False
            self._ready_at = clock()  # an injected bus is assumed already powered and awake

    # -- one word ---------------------------------------------------------------------------

    def _open(self) -> SMBusLike:
        if self._bus is None:
            import smbus2  # imported here: a host without I2C never needs it

            try:
                self._bus = smbus2.SMBus(self.bus_number)
            except OSError as exc:
                raise SensorError(
                    f"cannot open I2C bus {self.bus_number}: {exc.strerror or exc}", transient=False
                ) from exc
            # The sensor gives no valid data for about 250 ms after power-up or wake-up.
            self._ready_at = self._clock() + self.warmup_s
        return self._bus

    def _drop_bus(self) -> None:
        if self._owns_bus and self._bus is not None:
            try:
                self._bus.close()
            except OSError:
                pass  # the bus is already gone; we reopen it on the next read
            self._bus = None

    def _retrying(self, attempt_once: Callable[[], Any]) -> Any:
        last: SensorError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(0.005)
            try:
                return attempt_once()
            except SensorError as exc:
                if not exc.transient:
                    raise
                last = exc
        assert last is not None
        raise SensorError(f"{last} (after {self.retries + 1} attempts)", transient=True)

    def read_word(self, command: int) -> int:
        """Read one 16-bit word with its PEC checked, retrying NACKs and bad PECs."""
        return self._retrying(lambda: self._read_word_once(command))

    def _read_word_once(self, command: int) -> int:
        bus = self._open()
        try:
            data = bus.read_i2c_block_data(self.address, command, 3)
        except OSError as exc:
            if exc.errno in _TRANSIENT_ERRNOS:
                raise SensorError(
                    f"no answer from 0x{self.address:02X} (Remote I/O error)", transient=True
                ) from exc
            self._drop_bus()
            raise SensorError(f"I2C bus error: {exc.strerror or exc}", transient=False) from exc
        if len(data) != 3:
            raise SensorError(f"short read: {len(data)} bytes instead of 3", transient=True)
        lsb, msb, pec = data
        addr_w = (self.address << 1) & 0xFF
        expected = crc8([addr_w, command, addr_w | 1, lsb, msb])
        if pec != expected:
            raise SensorError(
                f"bad PEC on register 0x{command:02X}: got 0x{pec:02X}, expected 0x{expected:02X}",
                transient=True,
            )
        return lsb | (msb << 8)

    def _read_temperature_once(self, command: int) -> float:
        word = self._read_word_once(command)
        if word & 0x8000:
            raise SensorError(f"sensor error flag set on register 0x{command:02X}", transient=True)
        return raw_to_celsius(word)

    def read_temperature(self, command: int) -> float:
        """One RAM temperature (0x06 ambient, 0x07 object) in °C, error flag and PEC checked."""
        return self._retrying(lambda: self._read_temperature_once(command))

    # -- the public face --------------------------------------------------------------------

    def emissivity(self) -> float | None:
        """The emissivity programmed in EEPROM 0x24 (1.0 for a factory sensor), or None on fault."""
        try:
            return round(self.read_word(EEPROM_EMISSIVITY) / 65535, 4)
        except SensorError:
            return None

    def read(self) -> Reading:
        """One measurement: `samples` object/ambient pairs over `window_s`, median, offset, judged."""
        objects: list[float] = []
        ambients: list[float] = []
        last_error = "no sample taken"
        try:
            self._open()
            wait = self._ready_at - self._clock()
            if wait > 0:
                self._sleep(wait)
            interval = self.window_s / max(self.samples - 1, 1)
            for i in range(self.samples):
                if i:
                    self._sleep(interval)
                try:
                    obj = self.read_temperature(RAM_OBJECT_1)
                    amb = self.read_temperature(RAM_AMBIENT)
                except SensorError as exc:
                    if not exc.transient:
                        raise
                    last_error = str(exc)
                    continue
                objects.append(obj)
                ambients.append(amb)
        except SensorError as exc:
            return Reading(None, state="sensor_fault", error=str(exc))
        # A minority of bad samples is noise; a majority means the sensor cannot be trusted.
        if len(objects) * 2 <= self.samples:
            return Reading(
                None,
                state="sensor_fault",
                error=f"{self.samples - len(objects)} of {self.samples} samples failed: {last_error}",
            )
        return judge(statistics.median(objects), statistics.median(ambients), self.offset_c)

    def close(self) -> None:
        """Close the bus if this driver opened it; safe to call twice."""
        self._drop_bus()


class SimulatedThermometer:
    """A thermometer that reads whatever it was told: for `gate replay`, the demo and tests.

    The value is the calibrated temperature (no offset is added); None means nobody in front
    of the sensor. `fail(reason)` makes it report a sensor fault until the next `set`.
    """

    kind = "simulated"

    def __init__(self, value_c: float | None = 36.6) -> None:
        self._value: float | None = value_c
        self._fault: str | None = None

    @property
    def value_c(self) -> float | None:
        return self._value

    def set(self, value_c: float | None) -> None:
        self._value = value_c
        self._fault = None

    def fail(self, reason: str = "simulated sensor fault") -> None:
        self._fault = reason

    def read(self) -> Reading:
        if self._fault is not None:
            return Reading(None, state="sensor_fault", error=self._fault)
        if self._value is None:
            return Reading(None, state="no_body", error="no body in front of the sensor")
        return judge(float(self._value), None, 0.0)

    def emissivity(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class NoThermometer:
    """No sensor fitted (`sensor = "none"`): every reading is unavailable."""

    kind = "none"

    def read(self) -> Reading:
        return Reading(None, state="sensor_fault", error='no thermometer fitted (temperature.sensor = "none")')

    def emissivity(self) -> float | None:
        return None

    def close(self) -> None:
        pass


def open_thermometer(temperature_config: Any, bus: SMBusLike | None = None, **kwargs: Any) -> Thermometer:
    """The thermometer a `[temperature]` configuration section describes.

    `bus` replaces the I2C bus number for the MLX90614 (a fake bus in tests); extra keyword
    arguments (`clock`, `sleep`, `samples`, ...) go to the MLX90614 driver.
    """
    sensor = temperature_config.sensor
    if sensor == "mlx90614":
        return MLX90614(
            temperature_config.i2c_bus if bus is None else bus,
            temperature_config.i2c_address,
            offset_c=temperature_config.offset_c,
            **kwargs,
        )
    if sensor == "simulated":
        return SimulatedThermometer(temperature_config.simulated_c)
    if sensor == "none":
        return NoThermometer()
    raise ValueError(f"unknown temperature.sensor {sensor!r}: use mlx90614, simulated or none")
