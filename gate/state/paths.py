"""Where the gate's state lives: beside the record store, the trust cache and the time floor."""

from __future__ import annotations

from pathlib import Path

TRUST_STATE_FILE = "trust.db"
TIME_FLOOR_FILE = "timefloor.json"


def state_paths(store_path: Path) -> tuple[Path, Path]:
    """Where the trust state and the time floor live: beside the record store."""
    folder = Path(store_path).parent
    return folder / TRUST_STATE_FILE, folder / TIME_FLOOR_FILE
