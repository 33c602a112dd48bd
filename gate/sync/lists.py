"""The list fetcher: trust list, status list and bulletin, on a process's first round and then when due.

upload.md "Order of a sync round": the lists are due on a process's first round and then every
`collector.lists_interval_s`. The trust list is asked for with ``If-None-Match`` (its ETag) and
the status list with ``since`` (the version in force), so an unchanged list costs a 304. A delta
that does not apply (wrong base, bad signature) is followed by one request for the full list.
The bulletin (directives.md) is asked for with ``since`` (the newest accepted) after the trust
list, so that it is checked under the trust list just fetched; 304 (nothing newer) and 404 (the
collector has none) are not failures, and a refused bulletin leaves the one in force.

Lists are applied through `gate.codes.trust.TrustStore` (signature, rollback and base checks
there). Nothing here stops a round: a list that cannot be fetched (after the in-round retries)
or is refused is logged and put in `RoundResult.list_problems`, and the uploads go on. A list
that could not be fetched is due again on the next round; one that came (or was refused) is
not asked for again before the interval.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Callable

from gate.codes.trust import TrustError, TrustStore
from gate.directives.bulletin import BulletinError
from gate.directives.watch import BulletinWatch
from gate.store import Store
from gate.sync.client import LIST_CAP, SignedClient
from gate.sync.errors import Stop, one_line
from gate.sync.result import RoundResult
from gate.sync.retry import Retrier
from gate.state.syncmeta import META_TRUST_ETAG

log = logging.getLogger("gate.sync")

LISTS_INTERVAL_S = 300.0


class ListFetcher:
    """Fetches and applies one gate's lists when they are due (`monotonic` schedules)."""

    def __init__(self, client: SignedClient, retrier: Retrier, trust: TrustStore | None,
                 store: Store, *, interval_s: float = LISTS_INTERVAL_S,
                 monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], float] = time.time,
                 bulletins: BulletinWatch | None = None) -> None:
        self.client = client
        self.retrier = retrier
        self.trust = trust
        self.store = store
        self.interval_s = float(interval_s)
        self._monotonic = monotonic
        self._clock = clock
        if bulletins is None and trust is not None:
            bulletins = BulletinWatch.for_trust(trust, writable=True)
        self.bulletins = bulletins
        self._next_at: float | None = None  # None: never fetched by this process

    def due(self) -> bool:
        """Whether the next round should fetch the lists."""
        if self.trust is None:
            return False
        return self._next_at is None or self._monotonic() >= self._next_at

    def due_in(self) -> float:
        """Seconds until the lists are due (0 when due now; inf without a trust store)."""
        if self.trust is None:
            return float("inf")
        if self._next_at is None:
            return 0.0
        return max(0.0, self._next_at - self._monotonic())

    def fetch(self, result: RoundResult) -> None:
        """Trust list, status list, then bulletin; never raises for the network or a refused list."""
        if self.trust is None:
            return
        fetched = True
        for name, step in (("trust list", self._trust_list), ("status list", self._status_list),
                           ("bulletin", self._bulletin)):
            try:
                step(result)
            except Stop as exc:
                fetched = False
                self._problem(result, f"{name} not fetched: {exc}")
                if exc.kind != "protocol":
                    break  # the next request would fail the same way; the uploads go on
            except (sqlite3.Error, TrustError) as exc:
                self._problem(result, f"{name} not applied: trust state: {one_line(exc)}")
        if fetched:
            self._next_at = self._monotonic() + self.interval_s
            result.lists_fetched = True

    def _trust_list(self, result: RoundResult) -> None:
        assert self.trust is not None
        self.trust.refresh()
        headers = {}
        known = self.store.meta_get(META_TRUST_ETAG)
        if isinstance(known, dict) and known.get("version") == self.trust.trust_version:
            headers["If-None-Match"] = str(known.get("etag"))
        answer = self.retrier(lambda: self.client.send(
            "GET", "/v1/trustlist", headers=headers, cap=LIST_CAP, what="trust list",
            accept=(200, 304, 404)))
        if answer.status == 304:
            return
        if answer.status == 404:
            log.info("the collector has no trust list")
            return
        try:
            result.trust_updated = self.trust.apply_trust_list(
                answer.body, answer.headers.get("X-Signature", ""))
        except TrustError as exc:
            self._problem(result, f"trust list from the collector refused: {exc}")
            return
        etag = answer.headers.get("ETag")
        if etag and (not isinstance(known, dict) or known.get("etag") != etag
                     or known.get("version") != self.trust.trust_version):
            self.store.meta_set(META_TRUST_ETAG, {"etag": etag, "version": self.trust.trust_version})

    def _status_list(self, result: RoundResult) -> None:
        assert self.trust is not None
        self.trust.refresh()
        current = self.trust.status_version
        for since in ((current, 0) if current else (0,)):
            answer = self.retrier(lambda: self.client.send(
                "GET", f"/v1/statuslist?since={since}", cap=LIST_CAP, what="status list",
                accept=(200, 304, 404)))
            if answer.status == 304:
                return
            if answer.status == 404:
                log.info("the collector has no status list")
                return
            try:
                result.status_updated = self.trust.apply_status_list(
                    answer.body, answer.headers.get("X-Signature", ""))
                return
            except TrustError as exc:
                what = "delta" if since else "full list"
                self._problem(result, f"status list ({what} since {since}) refused: {exc}")

    def _bulletin(self, result: RoundResult) -> None:
        if self.trust is None or self.bulletins is None:
            return
        self.trust.refresh()
        now = self._clock()
        since = self.bulletins.refresh(self.trust.trust_list, now).version
        answer = self.retrier(lambda: self.client.send(
            "GET", f"/v1/bulletin?since={since}", cap=LIST_CAP, what="bulletin",
            accept=(200, 304, 404)))
        if answer.status == 304:
            return
        if answer.status == 404:
            log.info("the collector has no bulletin")
            return
        try:
            result.bulletin_updated = self.bulletins.accept(
                answer.body, answer.headers.get("X-Signature", ""), self.trust.trust_list, now)
        except BulletinError as exc:
            self._problem(result, f"bulletin from the collector refused: {exc}")

    @staticmethod
    def _problem(result: RoundResult, message: str) -> None:
        log.warning("%s; the list in force stays", message)
        result.list_problems.append(message)
