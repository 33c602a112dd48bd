"""The Syncer: one gate's parts of sync put together, and one round in the spec's order.

A round (upload.md "Order of a sync round"): the lists when they are due (`ListFetcher`),
every pending alert, then batches oldest first (`Uploader`), retention, then the heartbeat,
delivered or not (`Heartbeat`). Transient failures are tried again inside the round (`Retrier`);
a round that still stops schedules the next one (`Backoff`). 401/403 are written to the store's
meta (`META_PROBLEM`) so `gate doctor` shows them until a later round runs to its end.

A round can be interrupted at any point (a kill -9 included): nothing is marked delivered before
the collector's answer names it, and a record sent twice is stored once by the collector.
"""

from __future__ import annotations

import logging
import random as random_module
import time
from pathlib import Path
from typing import Any, Callable

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.codes.trust import TrustStore
from gate.control import KioskClient
from gate.store import Store, StoreUnavailable
from gate.sync.backoff import Backoff
from gate.sync.client import SignedClient
from gate.sync.errors import Stop
from gate.state.faults_now import KIOSK_TIMEOUT_S, GateFaults
from gate.sync.heartbeat import Heartbeat, floor_clock_trusted, system_uptime
from gate.sync.lists import ListFetcher
from gate.sync.loop import run_forever
from gate.sync.result import RoundResult
from gate.sync.retention import apply_retention
from gate.sync.retry import Retrier
from gate.state.syncmeta import META_CLOCK_OFFSET, META_LAST_SUCCESS
from gate.sync.settings import SyncSettings
from gate.sync.uploader import Uploader
from gate.state.paths import state_paths

log = logging.getLogger("gate.sync")


class Syncer:
    """Talks to the collector for one gate: `round()` once, or `run_forever()` beside the kiosk.

    `store` is the gate's record store; `trust` its trust store opened on the same state file
    as the kiosk's (`gate.state.paths.state_paths`), or None to skip the lists; `settings` what
    it is told (SyncSettings, usually `SyncSettings.from_config`). The rest are seams: `clock` is
    wall time (signing, record marks, Retry-After dates), `monotonic` schedules rounds and lists,
    `sleep` and `random` (pauses, jitter) are injectable for tests, `session` the HTTP session.
    `faults()` gives the heartbeat's fault codes (default: `GateFaults`, the whole gate's: the
    running kiosk's, asked through `kiosk`, else worked out under `settings.config`);
    `clock_trusted()` whether the clock is trusted (default: the kiosk's time floor beside the
    store); `uptime()` seconds since boot. The bulletins are fetched into `trust`'s folder and
    the heartbeat reports the one in force.
    """

    def __init__(
        self,
        store: Store,
        trust: TrustStore | None,
        settings: SyncSettings,
        *,
        faults: Callable[[], list[str]] | None = None,
        kiosk: KioskClient | None = None,
        clock_trusted: Callable[[], bool] | None = None,
        uptime: Callable[[], float | None] = system_uptime,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random_module.random,
        session: requests.Session | None = None,
    ) -> None:
        self.store = store
        self.trust = trust
        self.settings = settings
        self.retention_days = settings.retention_days
        self.min_free_bytes = settings.min_free_bytes
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.client = SignedClient(
            settings.url, settings.device_id, settings.device_key, timeout_s=settings.timeout_s, clock=clock,
            clock_offset_s=float(store.meta_get(META_CLOCK_OFFSET, 0.0) or 0.0),
            on_offset=lambda offset: store.meta_set(META_CLOCK_OFFSET, offset), session=session)
        self.retrier = Retrier(sleep=sleep, random=random)
        self.backoff = Backoff(store, clock=clock, monotonic=monotonic, random=random)
        self.lists = ListFetcher(self.client, self.retrier, trust, store,
                                 interval_s=settings.lists_interval_s, monotonic=monotonic, clock=clock)
        self.uploader = Uploader(self.client, store, self.retrier, batch_size=settings.batch_size,
                                 gzip_level=settings.gzip_level, clock=clock)

        floor_path = state_paths(Path(store.path))[1]
        if clock_trusted is None:
            clock_trusted = floor_clock_trusted(floor_path, clock)
        if faults is None:
            faults = GateFaults(store, trust, config=settings.config, floor_path=floor_path,
                                kiosk=kiosk if kiosk is not None else KioskClient(timeout_s=KIOSK_TIMEOUT_S),
                                device_key_path=settings.device_key_path, clock=clock)
        self.heartbeat = Heartbeat(self.client, store, trust, device_id=settings.device_id,
                                   venue_id=settings.venue_id, venue_type=settings.venue_type,
                                   config_path=settings.config_path, faults=faults,
                                   clock_trusted=clock_trusted, clock=clock, uptime=uptime,
                                   bulletin_version=self.bulletin_version)

    @classmethod
    def from_config(cls, cfg: Any, store: Store, trust: TrustStore | None,
                    device_key: Ed25519PrivateKey | None = None, **seams: Any) -> "Syncer":
        """A Syncer for a loaded gate configuration (collector, device, venue, store sections)."""
        return cls(store, trust, SyncSettings.from_config(cfg, device_key), **seams)

    # --- what the parts know ------------------------------------------------------------------

    @property
    def failures(self) -> int:
        """Rounds in a row that stopped without delivering anything (the backoff exponent)."""
        return self.backoff.failures

    @property
    def clock_offset_s(self) -> float:
        """The collector's clock minus this gate's, used for signing."""
        return self.client.clock_offset_s

    @property
    def session(self) -> requests.Session:
        return self.client.session

    def bulletin_version(self) -> int:
        """The version of the bulletin in force now (0 for none), as the heartbeat reports it."""
        bulletins = self.lists.bulletins
        if self.trust is None or bulletins is None:
            return 0
        now = self._clock()
        try:
            self.trust.refresh()
            in_force = bulletins.refresh(self.trust.trust_list, now).in_force(now)
        except Exception as exc:  # noqa: BLE001  (the heartbeat goes out whatever)
            log.warning("the bulletin in force could not be read: %s", exc)
            return 0
        return in_force.version if in_force is not None else 0

    def due_in(self) -> float:
        """Seconds until the next round may start (0 when it may start now)."""
        return self.backoff.due_in()

    def work_waiting(self) -> bool:
        """Whether records or alerts wait for upload (False when the store cannot say)."""
        try:
            return self.store.oldest_pending_scanned_at() is not None
        except StoreUnavailable as exc:
            log.warning("cannot read the queue: %s", exc)
            return False

    # --- the round ----------------------------------------------------------------------------

    def round(self, *, lists: bool | None = None, progress: Callable[[int], None] | None = None,
              stop: Callable[[], bool] | None = None) -> RoundResult:
        """One sync round in the spec's order; never raises for network or collector trouble.

        `lists`: True fetches the lists, False skips them, None (default) fetches them when due.
        `progress(n)` is told of every n records dealt with; `stop()` is asked between batches.
        """
        result = RoundResult()
        retries_before = self.retrier.retries
        stopped: Stop | None = None
        try:
            if lists or (lists is None and self.lists.due()):
                self.lists.fetch(result)
            self.uploader.send_alerts(result)
            self.uploader.send_batches(result, progress=progress, stop=stop or (lambda: False))
        except Stop as exc:
            stopped = exc
        except StoreUnavailable as exc:
            stopped = Stop("store", str(exc))
        if stopped is not None:
            result.error = str(stopped)
            result.stopped_by = stopped.kind
            result.next_attempt_in = self.backoff.stopped(stopped, moved=result.moved)
            log.warning("sync stopped: %s; next try in %.0f s", stopped, result.next_attempt_in)
        else:
            try:
                self.backoff.completed()
                self.store.meta_set(META_LAST_SUCCESS, {
                    "at": self._clock(), "uploaded": result.uploaded,
                    "duplicates": result.duplicates, "rejected": result.rejected,
                    "alerts_sent": result.alerts_sent})
            except StoreUnavailable as exc:
                log.warning("could not record the sync round: %s", exc)
        result.pruned = apply_retention(self.store, self.retention_days, self._clock(),
                                        self.min_free_bytes)
        try:
            result.remaining = self.store.queue_depth()
        except StoreUnavailable as exc:
            log.warning("could not count the queue: %s", exc)
            result.remaining = -1
        # After a round the network ended, one try: the heartbeat must not hold the round.
        cut_off = stopped is not None and (stopped.transient or stopped.kind == "auth")
        result.heartbeat_sent = self.heartbeat.send(self.retrier, tries=1 if cut_off else None)
        result.retries = self.retrier.retries - retries_before
        return result

    def run_forever(self, stop: Callable[[], bool], **kwargs: Any) -> None:
        """Rounds beside the kiosk until `stop()`; see `gate.sync.loop.run_forever`."""
        run_forever(self, stop, monotonic=self._monotonic, sleep=self._sleep, **kwargs)

    def close(self) -> None:
        """Close the HTTP session; the store and trust store belong to the caller."""
        self.client.close()
