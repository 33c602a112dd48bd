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

from gate.codes.trust import TRUST_FILE, TrustError, TrustStore
from gate.devicesig import DeviceKeyError, load_device_key
from gate.credentials.rules import shipped_rule_sets
from gate.errors import GateError
from gate.ids import is_id
from gate.vocabulary import VENUE_TYPES

SENSORS: tuple[str, ...] = ("mlx90614", "simulated", "none")
VOICE_LANGUAGES: tuple[str, ...] = ("zh", "en", "both")


class ConfigError(GateError, ValueError):
    """A configuration the gate refuses to start with; str() is one line for the technician.

    `problems` holds every problem found (the first is the message), one line each.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


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
    status_max_age_h: int = 48  # an older status list is in force but stale (trust-list.md)


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
    lists_interval_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceConfig:
    """[voice]: the spoken prompt for each decision (gate.hardware.speaker)."""

    enabled: bool = True
    volume: int = 80  # 0-100; 0 is silent
    language: str = "zh"  # zh | en | both (Mandarin first)
    speak_temperature: bool = False  # say the reading too: "体温三十六点六度，请通行"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupConfig:
    """[setup]: the technician's setup page (spec/setup.md); off unless enabled."""

    enabled: bool = False
    listen: str = "0.0.0.0:8443"
    password_hash: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialsConfig:
    """[credentials]: which CertLogic rule set judges an EU DCC or SMART Health Card (credentials.md)."""

    rule_set: str = ""  # empty: the venue type's own (firmware_config/rules/<type>.json)
    country: str = "CN"  # external.countryCode for the rules


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
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    setup: SetupConfig = field(default_factory=SetupConfig)
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)
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
        "status_max_age_h": _Key("int", low=1, high=8760),
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
        "lists_interval_s": _Key("float", low=0.0, high=86400.0, low_open=True),
    },
    "voice": {
        "enabled": _Key("bool"),
        "volume": _Key("int", low=0, high=100),
        "language": _Key("choice", choices=VOICE_LANGUAGES),
        "speak_temperature": _Key("bool"),
    },
    "setup": {
        "enabled": _Key("bool"),
        "listen": _Key("listen"),
        "password_hash": _Key("hash"),
    },
    "credentials": {
        "rule_set": _Key("choice", choices=("", *shipped_rule_sets())),
        "country": _Key("country"),
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
    "voice": VoiceConfig,
    "setup": SetupConfig,
    "credentials": CredentialsConfig,
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
    if kind == "choice" and "" in spec.choices:
        return 'use "" or one of ' + ", ".join(c for c in spec.choices if c)
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
    if kind == "country":
        return 'use a two-letter country code in capitals, e.g. "CN"'

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
    if kind == "country":
        if not isinstance(value, str) or len(value) != 2 or not (value.isascii() and value.isalpha() and value.isupper()):
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


class _Refused(Exception):
    """A value that its key does not allow (turned into a ConfigError with the key's name)."""


def _build(data: dict[str, Any], base_dir: Path, name: str) -> Config:
    """The configuration of a parsed document; ConfigError naming the first problem (all in `.problems`)."""
    config, problems = _build_all(data, base_dir, name)
    if problems or config is None:
        raise ConfigError(problems[0], problems)
    return config


def _build_all(data: dict[str, Any], base_dir: Path, name: str) -> tuple[Config | None, list[str]]:
    """The configuration of a parsed document and every problem with it, one line each.

    A key whose value is refused is left at its default so the rest can still be checked; the
    configuration is None only when it cannot be built at all.
    """
    problems: list[str] = []
    for section, table in data.items():
        if section not in SCHEMA:
            if isinstance(table, dict):
                problems.append(
                    f"{name}: unknown section [{section}]; use one of " + ", ".join(f"[{s}]" for s in SECTIONS)
                )
            else:
                problems.append(
                    f"{name}: {section} = {show_value(table)} outside a section is not allowed; "
                    "put each key in one of " + ", ".join(f"[{s}]" for s in SECTIONS)
                )
        elif not isinstance(table, dict):
            problems.append(f"{name}: {section} = {show_value(table)} is not allowed; [{section}] must be a section")

    sections: dict[str, Any] = {}
    for section, schema in SCHEMA.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            table = {}
        for key in table:
            if key not in schema:
                problems.append(
                    f"{name}: [{section}] unknown key {show_value(key)}; allowed keys: " + ", ".join(schema)
                )
        values: dict[str, Any] = {}
        for key, spec in schema.items():
            if key not in table:
                if spec.required:
                    problems.append(f"{name}: [{section}] {key} is missing; it is required ({_allowed(spec)})")
                continue
            try:
                values[key] = _convert(spec, table[key], base_dir)
            except _Refused:
                problems.append(
                    f"{name}: [{section}] {key} = {show_value(table[key])} is not allowed; {_allowed(spec)}"
                )
        # a default path is relative to the file too
        cls = _CLASSES[section]
        for f in fields(cls):
            if f.name not in values and schema[f.name].kind == "path":
                values[f.name] = _resolve(base_dir, str(f.default))
        if section == "venue" and "type" not in values:
            values["type"] = VENUE_TYPES[0]  # only so the other keys can be checked; reported above
        sections[section] = cls(**values)

    for section in ("device", "venue"):
        ident = getattr(sections[section], "id")
        if ident and not is_id(ident):
            problems.append(f"{name}: [{section}] id = {show_value(ident)} is not allowed; "
                            "use 1-64 letters, digits, '.', '_' or '-'")
    problems += _pin_problems(sections["io"], sections["temperature"], name)
    venue = sections["venue"]
    if venue.type == "residential" and venue.yellow_residents_only and not venue.community_codes:
        problems.append(f"{name}: [venue] yellow_residents_only = true with no community_codes would turn every "
                        "yellow resident away; list the compound's community_codes or set yellow_residents_only = false")
    return Config(**sections), problems


# The BCM pins each I2C bus of a Raspberry Pi uses (SDA, SCL).
I2C_PINS: dict[int, tuple[int, int]] = {1: (2, 3), 0: (0, 1)}


def _pin_problems(io: IOConfig, temperature: TemperatureConfig, name: str) -> list[str]:
    """Each fitted pin drives or reads one thing: two keys on one pin, or a part on the
    thermometer's I2C pins, is a wiring mistake."""
    problems = []
    used: dict[int, str] = {}
    i2c = I2C_PINS.get(temperature.i2c_bus, ()) if temperature.sensor == "mlx90614" else ()
    for key, spec in SCHEMA["io"].items():
        pin = getattr(io, key)
        if spec.kind != "pin" or pin is None:
            continue
        if pin in used:
            problems.append(
                f"{name}: [io] {key} = {pin} is not allowed; pin {pin} is already used by {used[pin]}; "
                "use a different pin or false when not fitted"
            )
        elif pin in i2c:
            problems.append(
                f"{name}: [io] {key} = {pin} is not allowed; pin {pin} is the MLX90614's I2C bus "
                f"{temperature.i2c_bus} (BCM {i2c[0]} and {i2c[1]}); use a different pin"
            )
        used.setdefault(pin, key)
    return problems


def problems(path: str | Path) -> list[str]:
    """Every problem that would stop the gate from starting with the file at `path`, one line each.

    The file's own problems (not TOML, unknown or refused keys, the checks of config.md after
    parsing), then what it names: a trust folder with no anchor or whose trust list does not
    verify, and a device key that is missing or not an Ed25519 private key. Empty: it would start.
    Nothing is written.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return [f"{path}: cannot be read: {exc.strerror or exc}"]
    except UnicodeDecodeError:
        return [f"{path}: is not UTF-8 text; save it as UTF-8"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"{path}: not valid TOML: {exc}"]
    config, found = _build_all(data, Path(os.path.abspath(path.parent)), str(path))
    if config is not None:
        found += _trust_problems(config, str(path)) + _device_key_problems(config, str(path))
    return found


def _trust_problems(config: Config, name: str) -> list[str]:
    try:
        trust = TrustStore(config.trust.dir)  # in memory: nothing written
    except (TrustError, ValueError, OSError) as exc:
        return [f"{name}: [trust] dir: {exc}"]
    try:
        problem = trust.file_errors.get(TRUST_FILE)
        return [f"{name}: [trust] dir: the trust list does not verify: {problem}"] if problem else []
    finally:
        trust.close()


def _device_key_problems(config: Config, name: str) -> list[str]:
    try:
        load_device_key(config.device.key)
    except DeviceKeyError as exc:
        return [f"{name}: [device] key: {exc}"]
    return []


def check_value(dotted: str, value: Any) -> Any:
    """The typed value `value` would have as key `dotted`; ConfigError naming the key and what is allowed.

    For settings that arrive from elsewhere than the file (a central bulletin), checked against
    the same schema and ranges as the file.
    """
    section, _, key = dotted.partition(".")
    spec = SCHEMA.get(section, {}).get(key)
    if spec is None:
        raise ConfigError(f"{dotted}: no such key")
    try:
        return _convert(spec, value, Path("."))
    except _Refused:
        raise ConfigError(f"{dotted} = {show_value(value)} is not allowed: {_allowed(spec)}") from None
