"""The heartbeat: at the end of every round, delivered or not, the gate reports its health.

``POST /v1/heartbeat`` with the body of upload.md "Heartbeat". The collector keeps the latest
heartbeat of each device with the time it arrived: that is how an operator sees which gates are
online, what they run and what is wrong with them.

`faults` comes from a provider callable: the gate's whole fault list (`gate.state.faults_now.
GateFaults`: the running kiosk's, or computed as the kiosk would, plus sync's own).
`bulletin_version` is the version of the bulletin in force (directives.md), 0 for none.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import gate
from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.record import iso_utc_ms
from gate.store import Store, StoreUnavailable
from gate.sync.client import SignedClient
from gate.sync.errors import Stop
from gate.sync.retry import Retrier
from gate.state.syncmeta import META_HEARTBEAT
from gate.configfile import file_sha256

log = logging.getLogger("gate.sync")

def system_uptime() -> float | None:
    """Seconds since the machine booted (Linux /proc/uptime), or None where unknown."""
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def floor_clock_trusted(floor_path: Path | None,
                        clock: Callable[[], float] = time.time) -> Callable[[], bool]:
    """Whether the system clock is trusted against the kiosk's time floor, read afresh each call."""
    def trusted() -> bool:
        path = floor_path if floor_path is not None and Path(floor_path).exists() else None
        return TimeFloor(path, clock).now().trusted
    return trusted


class Heartbeat:
    """Builds and sends one gate's heartbeat. `uptime()` is seconds since boot (or None)."""

    def __init__(self, client: SignedClient, store: Store, trust: TrustStore | None, *,
                 device_id: str, venue_id: str = "", venue_type: str = "",
                 config_path: Path | None = None, faults: Callable[[], list[str]],
                 clock_trusted: Callable[[], bool], clock: Callable[[], float] = time.time,
                 uptime: Callable[[], float | None] = system_uptime,
                 bulletin_version: Callable[[], int] = lambda: 0,
                 software_version: str = gate.__version__) -> None:
        self.client = client
        self.store = store
        self.trust = trust
        self.device_id = device_id
        self.venue_id = venue_id
        self.venue_type = venue_type
        self.config_path = config_path
        self.faults = faults
        self.clock_trusted = clock_trusted
        self._clock = clock
        self._uptime = uptime
        self.bulletin_version = bulletin_version
        self.software_version = software_version

    def body(self) -> dict[str, Any]:
        """The heartbeat of upload.md, as of now."""
        queue_depth: int | None = None
        oldest = last_scan = None
        rejected: int | None = None
        recovered = 0
        try:
            queue_depth = self.store.queue_depth()
            oldest = self.store.oldest_pending_scanned_at()
            rejected = self.store.rejected_count()
            last_scan = self.store.last_scanned_at()
            recovered = int((self.store.fault_details().get("store_corrupt") or {}).get("recovered") or 0)
        except StoreUnavailable as exc:
            log.warning("heartbeat without the queue: %s", exc)
        trust_version = status_version = None
        if self.trust is not None:
            self.trust.refresh()
            trust_version = self.trust.trust_version
            status_version = self.trust.status_version or None
        uptime = self._uptime()
        return {
            "device_id": self.device_id,
            "sent_at": iso_utc_ms(self._clock()),
            "software_version": self.software_version,
            "venue_id": self.venue_id,
            "venue_type": self.venue_type,
            "config_sha256": file_sha256(self.config_path),
            "queue_depth": queue_depth,
            "oldest_pending_at": oldest,
            "rejected_count": rejected,
            "trust_list_version": trust_version,
            "status_list_version": status_version,
            "bulletin_version": int(self.bulletin_version()),
            "clock_trusted": bool(self.clock_trusted()),
            "faults": list(self.faults()),
            "last_scan_at": last_scan,
            "uptime_s": None if uptime is None else int(uptime),
            "store_recovered": recovered,  # the project's addition: records recovered from a damaged store
        }

    def send(self, retrier: Retrier, *, tries: int | None = None) -> bool:
        """Send the heartbeat; False (logged) when the collector did not take it."""
        raw = json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        body = gzip.compress(raw, compresslevel=1, mtime=0)
        try:
            retrier(lambda: self.client.send("POST", "/v1/heartbeat", body, what="heartbeat"),
                    tries=tries)
        except Stop as exc:
            log.warning("heartbeat not sent: %s", exc)
            return False
        try:
            self.store.meta_set(META_HEARTBEAT, {"at": self._clock()})
        except StoreUnavailable as exc:
            log.warning("could not record the heartbeat: %s", exc)
        return True
