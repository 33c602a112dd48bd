"""What a Syncer is told about its gate and its collector: one value, made from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.config import Config
from gate.devicesig import load_device_key
from gate.sync.lists import LISTS_INTERVAL_S
from gate.sync.retention import MIN_FREE_BYTES
from gate.sync.uploader import GZIP_LEVEL


@dataclass(frozen=True)
class SyncSettings:
    """The collector (`url`, `timeout_s`), this gate (`device_id` and its Ed25519 `device_key`,
    the venue the heartbeat names), and how sync behaves: records per batch, how often the lists
    are fetched, how long delivered records are kept and the free space it keeps, the gzip level.

    `config_path` is the configuration file whose hash the heartbeat reports; `device_key_path` is
    where the key lives (a missing file is the fault `device_key_missing`); `config` judges the
    lists' ages when the fault list is worked out without the kiosk (None: config.md's defaults).
    """

    url: str
    device_id: str
    device_key: Ed25519PrivateKey
    batch_size: int = 500
    timeout_s: float = 10.0
    retention_days: int = 28
    lists_interval_s: float = LISTS_INTERVAL_S
    min_free_bytes: int = MIN_FREE_BYTES
    gzip_level: int = GZIP_LEVEL
    venue_id: str = ""
    venue_type: str = ""
    config_path: Path | None = None
    device_key_path: Path | None = None
    config: Config | None = None

    @classmethod
    def from_config(cls, cfg: Config, device_key: Ed25519PrivateKey | None = None, **changes: Any) -> "SyncSettings":
        """The settings of a loaded gate configuration (collector, device, venue, store sections);
        the device key is read from `device.key` unless given (DeviceKeyError when it cannot be)."""
        values: dict[str, Any] = dict(
            url=cfg.collector.url, device_id=cfg.device.id,
            device_key=device_key if device_key is not None else load_device_key(cfg.device.key),
            batch_size=cfg.collector.batch_size, timeout_s=cfg.collector.timeout_s,
            lists_interval_s=cfg.collector.lists_interval_s, venue_id=cfg.venue.id, venue_type=cfg.venue.type,
            config_path=cfg.source, device_key_path=cfg.device.key, retention_days=cfg.store.retention_days,
            config=cfg,
        )
        values.update(changes)
        return cls(**values)
