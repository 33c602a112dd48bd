"""What the gate remembers about its record store OUTSIDE the store: a small file beside it.

An SD card that loses the store file, or a store truncated to nothing, must not look like a gate's
first day. The marker (``scans.db.marker``) holds the id of the store the gate last used and its
last known queue depth. It is written atomically (mkstemp, fsync, os.replace, fsync of the folder)
and only when the depth crosses a threshold (0, 1, 10, 100, ... records waiting), so it adds no
write per scan. A store found missing, empty or different where the marker says undelivered
records existed is the `store_missing` fault.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".marker"


def depth_band(depth: int) -> int:
    """The threshold band of a queue depth: 0 for none, then 1 for 1-9, 2 for 10-99, ..."""
    return 0 if depth <= 0 else 1 + int(math.log10(depth))


@dataclass(frozen=True)
class Marker:
    """The last written marker: which store, and how many records waited for upload then."""

    store_id: str
    queue_depth: int

    def to_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "queue_depth": self.queue_depth}


def marker_path(store_path: Path) -> Path:
    """Where the marker of the store at `store_path` lives."""
    return Path(str(store_path) + SUFFIX)


def read_marker(store_path: Path) -> Marker | None:
    """The marker beside the store, or None when there is none or it cannot be read."""
    try:
        data = json.loads(marker_path(store_path).read_text())
        return Marker(str(data["store_id"]), int(data["queue_depth"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_marker(store_path: Path, marker: Marker) -> None:
    """Replace the marker atomically and durably; OSError when the folder cannot be written."""
    target = marker_path(store_path)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(marker.to_json(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
