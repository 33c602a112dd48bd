"""The gate's configuration (spec/config.md): one TOML file loaded into typed, frozen values.

A file that is not TOML, has an unknown section or key, a value of the wrong type or out of range,
or lacks a required key is refused with a `ConfigError` whose text is one line naming the file, the
key and what is allowed. Nothing starts on a bad file and nothing falls back to letting people in.

Two things TOML cannot say directly, and the rule this project uses for them:

- "no pin fitted": an `[io]` pin set to `false` (e.g. `buzzer_pin = false`). A pin key left out
  takes the default pin of the spec, so leaving it out does NOT mean "not fitted".
- "automatic exposure": `[camera] exposure = "auto"` or the key left out; an integer otherwise.

Relative paths (`device.key`, `trust.dir`, `store.path`, and `camera.source` when it names a file
or folder) are taken relative to the folder of the configuration file.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

VENUE_TYPES: tuple[str, ...] = ("residential", "public_place", "metro", "bus_taxi", "special_place")
SENSORS: tuple[str, ...] = ("mlx90614", "simulated", "none")


class ConfigError(ValueError):
    """A configuration the gate refuses to start with; str() is one line for the technician."""


# --------------------------------------------------------------------------------------------
# The values


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceConfig:
    """[device]: who this gate is. `id` is required in a file."""

    id: str = ""
    key: Path = Path("keys/device.key")


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueConfig:
    """[venue]: where this gate stands and which rules apply (venue-rules.md). `id` is required in a file."""

    id: str = ""
    type: str
    community_codes: tuple[str, ...] = ()
    yellow_residents_only: bool = True
    itinerary_check: bool = True
    strict_clock: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TemperatureConfig:
    """[temperature]: fever threshold, re-measure window and the thermometer."""

    fever_c: float = 37.3
    recheck_window_s: int = 900
    required: bool = True
    sensor: str = "mlx90614"
    simulated_c: float = 36.6
    i2c_bus: int = 1
    i2c_address: int = 0x5A
    offset_c: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustConfig:
    """[trust]: where the trust anchors and signed lists live, and the clock skew allowed."""

    dir: Path = Path("keys/trust")
    skew_s: int = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraConfig:
    """[camera]: where frames come from. `debounce_s` and `exposure` are project additions."""

    source: str = "0"
    width: int = 640
    height: int = 480
    debounce_s: float = 3.0
    exposure: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IOConfig:
    """[io]: BCM pin numbers of the gate's relay, lights, buzzer and inputs; None = not fitted."""

    relay_pin: int | None = 17
    relay_active_high: bool = False
    relay_pulse_s: float = 3.0
    led_green_pin: int | None = 22
    led_yellow_pin: int | None = 27
    led_red_pin: int | None = 23
    buzzer_pin: int | None = 24
    override_button_pin: int | None = 25
    fire_release_pin: int | None = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    """[store]: the local record store."""

    path: Path = Path("/var/lib/gate/scans.db")
    retention_days: int = 28


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorConfig:
    """[collector]: where records are uploaded; an empty url means no uploads."""

    url: str = ""
    batch_size: int = 500
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupConfig:
    """[setup]: the technician's setup page (spec/setup.md); off unless enabled."""

    enabled: bool = False
    listen: str = "0.0.0.0:8443"
    password_hash: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration of one gate. `source` is the file it was read from, if any."""

    venue: VenueConfig
    device: DeviceConfig = field(default_factory=DeviceConfig)
    temperature: TemperatureConfig = field(default_factory=TemperatureConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    io: IOConfig = field(default_factory=IOConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    collector: CollectorConfig = field(default_factory=CollectorConfig)
    setup: SetupConfig = field(default_factory=SetupConfig)
    source: Path | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: str | Path = ".", name: str = "<config>") -> "Config":
        """Validate a parsed TOML document; `name` is the file named in errors."""
        return _build(data, Path(os.path.abspath(base_dir)), name)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The effective configuration as plain JSON values (None where a pin is not fitted)."""
        out: dict[str, dict[str, Any]] = {}
        for section in SECTIONS:
            values = getattr(self, section)
            out[section] = {}
            for f in fields(values):
                value = getattr(values, f.name)
                if isinstance(value, Path):
                    value = str(value)
                elif isinstance(value, tuple):
                    value = list(value)
                out[section][f.name] = value
        return out

    def to_toml_dict(self) -> dict[str, dict[str, Any]]:
        """As `to_dict`, but in this file format's spelling: `false` for a pin not fitted, "auto" exposure."""
        out = self.to_dict()
        for key, spec in SCHEMA["io"].items():
            if spec.kind == "pin" and out["io"][key] is None:
                out["io"][key] = False
        if out["camera"]["exposure"] is None:
            out["camera"]["exposure"] = "auto"
        return out


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration file; raises ConfigError with a one-line message."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    return loads_config(text, path)


def loads_config(text: str, path: str | Path) -> Config:
    """Validate configuration text as if it were the file at `path` (for checking before writing)."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = _build(data, Path(os.path.abspath(path.parent)), str(path))
    return _with_source(config, Path(os.path.abspath(path)))


def _with_source(config: Config, source: Path) -> Config:
    values = {f.name: getattr(config, f.name) for f in fields(config)}
    values["source"] = source
    return Config(**values)


# --------------------------------------------------------------------------------------------
# The schema: every key, its kind, its default (from the dataclasses) and what is allowed.


@dataclass(frozen=True, slots=True)
class _Key:
    kind: str  # str | path | source | url | choice | bool | int | float | pin | exposure | codes
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the value must be strictly above `low`
    choices: tuple[str, ...] = ()
    hex: bool = False  # shown as 0x.. in messages


SCHEMA: dict[str, dict[str, _Key]] = {
    "device": {
        "id": _Key("str", required=True),
        "key": _Key("path"),
    },
    "venue": {
        "id": _Key("str", required=True),
        "type": _Key("choice", required=True, choices=VENUE_TYPES),
        "community_codes": _Key("codes"),
        "yellow_residents_only": _Key("bool"),
        "itinerary_check": _Key("bool"),
        "strict_clock": _Key("bool"),
    },
    "temperature": {
        "fever_c": _Key("float", low=35.0, high=42.0),
        "recheck_window_s": _Key("int", low=1, high=86400),
        "required": _Key("bool"),
        "sensor": _Key("choice", choices=SENSORS),
        "simulated_c": _Key("float", low=-70.0, high=380.0),
        "i2c_bus": _Key("int", low=0, high=255),
        "i2c_address": _Key("int", low=0x03, high=0x77, hex=True),
        "offset_c": _Key("float", low=-5.0, high=5.0),
    },
    "trust": {
        "dir": _Key("path"),
        "skew_s": _Key("int", low=0, high=3600),
    },
    "camera": {
        "source": _Key("source"),
        "width": _Key("int", low=1, high=8192),
        "height": _Key("int", low=1, high=8192),
        "debounce_s": _Key("float", low=0.0, high=3600.0),
        "exposure": _Key("exposure", low=1, high=1_000_000),
    },
    "io": {
        "relay_pin": _Key("pin", low=0, high=27),
        "relay_active_high": _Key("bool"),
        "relay_pulse_s": _Key("float", low=0.1, high=60.0),
        "led_green_pin": _Key("pin", low=0, high=27),
        "led_yellow_pin": _Key("pin", low=0, high=27),
        "led_red_pin": _Key("pin", low=0, high=27),
        "buzzer_pin": _Key("pin", low=0, high=27),
        "override_button_pin": _Key("pin", low=0, high=27),
        "fire_release_pin": _Key("pin", low=0, high=27),
    },
    "store": {
        "path": _Key("path"),
        "retention_days": _Key("int", low=1, high=3650),
    },
    "collector": {
        "url": _Key("url"),
        "batch_size": _Key("int", low=1, high=10000),
        "timeout_s": _Key("float", low=0.0, high=600.0, low_open=True),
    },
    "setup": {
        "enabled": _Key("bool"),
        "listen": _Key("listen"),
        "password_hash": _Key("hash"),
    },
}

SECTIONS: tuple[str, ...] = tuple(SCHEMA)

_CLASSES: dict[str, type] = {
    "device": DeviceConfig,
    "venue": VenueConfig,
    "temperature": TemperatureConfig,
    "trust": TrustConfig,
    "camera": CameraConfig,
    "io": IOConfig,
    "store": StoreConfig,
    "collector": CollectorConfig,
    "setup": SetupConfig,
}


def key_kind(dotted: str) -> str | None:
    """The kind of a "section.key" ("str", "int", "pin", ...), or None when there is no such key."""
    section, _, key = dotted.partition(".")
    spec = SCHEMA.get(section, {}).get(key)
    return spec.kind if spec else None


def show_value(value: Any) -> str:
    """A value as TOML would spell it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{...}"
    return str(value)  # dates and times


def _number(spec: _Key, value: float) -> str:
    if spec.hex:
        return f"0x{int(value):02X}"
    if spec.kind == "float":
        return repr(float(value))
    return str(int(value))


def _range_text(spec: _Key, unit: str) -> str:
    low = _number(spec, spec.low) if spec.low is not None else ""
    if spec.high is None:
        return f"{unit} above {low}" if spec.low_open else f"{unit} of at least {low}"
    high = _number(spec, spec.high)
    if spec.low_open:
        return f"{unit} above {low} and at most {high}"
    return f"{unit} from {low} to {high}"


def _allowed(spec: _Key) -> str:
    """What may be written for a key, as the end of an error message."""
    kind = spec.kind
    if kind == "choice":
        return "use one of " + ", ".join(spec.choices)
    if kind == "bool":
        return "use true or false"
    if kind == "int":
        return "use a whole " + _range_text(spec, "number")
    if kind == "float":
        return "use a " + _range_text(spec, "number")
    if kind == "pin":
        low, high = _number(spec, spec.low), _number(spec, spec.high)
        return f"use a BCM pin number from {low} to {high}, or false when not fitted"
    if kind == "exposure":
        low, high = _number(spec, spec.low), _number(spec, spec.high)
        return f'use "auto" or a whole number from {low} to {high}'
    if kind == "codes":
        return 'use a list of community codes, e.g. ["360102-012"]'
    if kind == "url":
        return 'use "" (no uploads) or an http:// or https:// address'
    if kind in ("path", "source"):
        return "use a non-empty path in quotes"
    if kind == "listen":
        return 'use "ADDRESS:PORT" with a port from 1 to 65535, e.g. "0.0.0.0:8443"'
    if kind == "hash":
        return "set it with gate setup passwd"
    return "use a non-empty string in quotes"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(value: float, spec: _Key) -> bool:
    if spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low):
        return False
    return spec.high is None or value <= spec.high


def _resolve(base_dir: Path, value: str) -> Path:
    return Path(os.path.abspath(base_dir / value))


def _is_camera_path(source: str) -> bool:
    """A camera.source that names a file or folder (not a V4L2 index, picamera2 or a URL)."""
    return not (source.isdigit() or source == "picamera2" or "://" in source)


def _convert(spec: _Key, value: Any, base_dir: Path) -> Any:
    """The typed value of one key, or raise _Refused."""
    kind = spec.kind
    if kind == "listen":
        return _listen(value)
    if kind == "hash":
        if not isinstance(value, str) or (value and not value.startswith("$argon2")):
            raise _Refused
        return value
    if kind in ("str", "path", "source", "url", "choice"):
        if not isinstance(value, str):
            raise _Refused
        if kind == "choice":
            if value not in spec.choices:
                raise _Refused
            return value
        if kind == "url":
            if value and not value.startswith(("http://", "https://")):
                raise _Refused
            return value
        if not value.strip():
            raise _Refused
        if kind == "path":
            return _resolve(base_dir, value)
        if kind == "source" and _is_camera_path(value):
            return str(_resolve(base_dir, value))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Refused
        return value
    if kind == "int":
        if not _is_int(value) or not _in_range(value, spec):
            raise _Refused
        return value
    if kind == "float":
        if not (_is_int(value) or isinstance(value, float)):
            raise _Refused
        if not math.isfinite(value) or not _in_range(value, spec):
            raise _Refused
        return float(value)
    if kind == "pin":
        if value is False:
            return None
        if not _is_int(value) or not _in_range(value, spec):
            raise _Refused
        return value
    if kind == "exposure":
        if value == "auto":
            return None
        if not _is_int(value) or not _in_range(value, spec):
            raise _Refused
        return value
    if kind == "codes":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _Refused
        return tuple(value)
    raise AssertionError(f"unknown kind {kind}")


def _listen(value: Any) -> str:
    """ "host:port" (an IPv6 host in brackets), the port 1-65535."""
    if not isinstance(value, str):
        raise _Refused
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _Refused
    return value


def problems(path: str | Path) -> list[str]:
    """Every problem that would stop the gate from starting with the file at `path`, one line
    each; an empty list when it would start. (Minimal version: the loader's own refusal. The
    fail-closed branch builds the full one with the same signature.)"""
    try:
        load_config(path)
    except ConfigError as exc:
        return [str(exc)]
    return []


class _Refused(Exception):
    """A value that its key does not allow (turned into a ConfigError with the key's name)."""


def _build(data: dict[str, Any], base_dir: Path, name: str) -> Config:
    for section, table in data.items():
        if section not in SCHEMA:
            if isinstance(table, dict):
                raise ConfigError(
                    f"{name}: unknown section [{section}]; use one of " + ", ".join(f"[{s}]" for s in SECTIONS)
                )
            raise ConfigError(
                f"{name}: {section} = {show_value(table)} outside a section is not allowed; "
                "put each key in one of " + ", ".join(f"[{s}]" for s in SECTIONS)
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: {section} = {show_value(table)} is not allowed; [{section}] must be a section")

    sections: dict[str, Any] = {}
    for section, schema in SCHEMA.items():
        table = data.get(section, {})
        for key in table:
            if key not in schema:
                raise ConfigError(
                    f"{name}: [{section}] unknown key {show_value(key)}; allowed keys: " + ", ".join(schema)
                )
        values: dict[str, Any] = {}
        for key, spec in schema.items():
            if key not in table:
                if spec.required:
                    raise ConfigError(f"{name}: [{section}] {key} is missing; it is required ({_allowed(spec)})")
                continue
            try:
                values[key] = _convert(spec, table[key], base_dir)
            except _Refused:
                raise ConfigError(
                    f"{name}: [{section}] {key} = {show_value(table[key])} is not allowed; {_allowed(spec)}"
                ) from None
        # a default path is relative to the file too
        cls = _CLASSES[section]
        for f in fields(cls):
            if f.name not in values and schema[f.name].kind == "path":
                values[f.name] = _resolve(base_dir, str(f.default))
        sections[section] = cls(**values)

    _check_pins(sections["io"], name)
    return Config(**sections)


def _check_pins(io: IOConfig, name: str) -> None:
    """Each fitted pin drives or reads one thing: two keys on one pin is a wiring mistake."""
    used: dict[int, str] = {}
    for key, spec in SCHEMA["io"].items():
        pin = getattr(io, key)
        if spec.kind != "pin" or pin is None:
            continue
        if pin in used:
            raise ConfigError(
                f"{name}: [io] {key} = {pin} is not allowed; pin {pin} is already used by {used[pin]}; "
                "use a different pin or false when not fitted"
            )
        used[pin] = key

