"""Which faults hold now (gate.faults' codes), worked out once for everyone who asks.

`list_faults` is what the lists and the clock say (trust list missing or stale, status list missing
or stale, the trust cache rebuilt, the clock below the time floor): the pipeline adds its store's
and the screen shows them, the doctor and the heartbeat read the same.

`GateFaults` is the whole gate's list, for the heartbeat (upload.md "Heartbeat") and anyone outside
the kiosk's process. The sync process runs beside the kiosk and cannot see the camera or the
thermometer. So, when the kiosk runs, its faults are asked of it over its local control channel
(`gate.control`: the same list its screen shows, camera, thermometer, store, lists, clock, speaker,
config_rejected); when none answers, the gate is shut (`kiosk_not_running`) and the rest is worked
out as the kiosk would from what is on disk (`list_faults`; the record store's kept faults and its
own view of it). Sync's own are added either way: a missing device key, the collector's refusal.

A provider never raises: the heartbeat must go out whatever the fault list's sources do.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.config import VENUE_TYPES, Config, VenueConfig
from gate.control import KioskClient, KioskUnavailable
from gate.faults import FAULTS, fault
from gate.state.syncmeta import META_PROBLEM
from gate.store import Store, StoreUnavailable, kept_faults

log = logging.getLogger("gate.sync")

KIOSK_TIMEOUT_S = 2.0  # a kiosk that does not answer in this time is treated as not running


def list_faults(trust: TrustStore, floor: TimeFloor, now: float, cfg: Config) -> list[str]:
    """The fault codes (gate.faults) that hold now from the trust store, the time floor and `cfg`.

    `now` is what the system clock says (the floor decides whether it is trusted and, when not,
    the time the lists' age is judged at). Sorted; the camera, thermometer and store are the
    kiosk's to add.
    """
    gate_time = floor.at(now)
    codes = []
    if not gate_time.trusted:
        codes.append("clock_untrusted")
    tl = trust.trust_list
    if tl is None:
        codes.append("trust_list_missing")
    elif tl.is_stale(gate_time.now):
        codes.append("trust_list_stale")
    if not trust.status_in_force:
        codes.append("status_list_missing")
    elif trust.status_stale(gate_time.now, cfg.trust.status_max_age_h * 3600):
        codes.append("status_list_stale")
    if trust.cache_rebuilt:
        codes.append("trust_cache_rebuilt")
    for code in codes:
        fault(code)  # each one is in the vocabulary
    return sorted(codes)


class GateFaults:
    """Callable: the fault codes of the whole gate now, sorted, each in gate.faults' vocabulary.

    `kiosk` is the client of the running kiosk's control channel (None: never ask, compute);
    `floor_path` the kiosk's time floor; `config` the gate's configuration (the lists' ages).
    """

    def __init__(self, store: Store, trust: TrustStore | None, *, config: Config | None = None,
                 kiosk: KioskClient | None = None, floor_path: Path | None = None,
                 device_key_path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.trust = trust
        # Without the gate's file, the defaults of config.md judge the lists' ages (only [trust] is read).
        self.config = config if config is not None else Config(venue=VenueConfig(type=VENUE_TYPES[0]))
        self.kiosk = kiosk
        self.floor_path = floor_path
        self.device_key_path = device_key_path
        self._clock = clock
        self.source = ""  # "kiosk" or "computed": where the last list came from

    def __call__(self) -> list[str]:
        codes = self.from_kiosk()
        if codes is None:
            self.source = "computed"
            codes = self.computed()
            if self.kiosk is not None:  # asked, and no kiosk answered: nobody is deciding at the gate
                codes.append("kiosk_not_running")
        else:
            self.source = "kiosk"
        return sorted(set(codes) | set(self.own()))

    def from_kiosk(self) -> list[str] | None:
        """The running kiosk's faults, or None when no kiosk answers."""
        if self.kiosk is None:
            return None
        try:
            reported = self.kiosk.status()["faults"]
        except KioskUnavailable:
            return None
        except Exception as exc:  # noqa: BLE001  (a kiosk that answers nonsense is not running as it should)
            log.warning("the kiosk's status could not be read (%s); faults worked out here", exc)
            return None
        if not isinstance(reported, list):
            log.warning("the kiosk's status has no list of faults; faults worked out here")
            return None
        unknown = [c for c in reported if c not in FAULTS]
        if unknown:
            log.warning("the kiosk reports fault codes this sync does not know, left out: %s", unknown)
        return [c for c in reported if c in FAULTS]

    def computed(self) -> list[str]:
        """What the kiosk would report of the lists, the clock and the store, worked out from disk."""
        codes: set[str] = set()
        path = self.floor_path if self.floor_path is not None and Path(self.floor_path).exists() else None
        floor = TimeFloor(path, self._clock)
        if self.trust is None:
            codes.update({"trust_list_missing", "status_list_missing"})
            if not floor.now().trusted:
                codes.add("clock_untrusted")
        else:
            try:
                self.trust.refresh()
                codes.update(list_faults(self.trust, floor, self._clock(), self.config))
            except Exception as exc:  # noqa: BLE001
                log.warning("the lists' faults could not be worked out: %s", exc)
        codes.update(kept_faults(self.store.path))
        codes.update(self.store.faults())
        return sorted(codes)

    def own(self) -> list[str]:
        """Sync's own: the device key is missing, the collector refuses this gate's uploads."""
        codes = []
        if self.device_key_path is not None and not Path(self.device_key_path).is_file():
            codes.append("device_key_missing")
        try:
            if self.store.meta_get(META_PROBLEM):
                codes.append("upload_refused")
        except StoreUnavailable:
            codes.append("store_unavailable")
        return codes
