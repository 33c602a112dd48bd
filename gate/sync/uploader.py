"""The uploader: every pending alert first, then the queue in batches, oldest first.

upload.md:
- ``POST /v1/alerts`` with ``{"batch_id", "records": [...]}``: every pending alert, in requests
  of up to the batch size, before any batch of the round. Alerts the collector names are marked
  sent; they stay queued and go again in a normal batch, where the collector stores them once.
- ``POST /v1/scans``: batches oldest first until the queue is empty, `stop()` or a failure.
  Records are marked delivered only once a 200 names their id (accepted or duplicates);
  rejected ones are marked rejected and never resent.
- 413: the batch is halved and sent again; a single record still too large is rejected.
- Transient failures are tried again within the round (`gate.sync.retry`).

`uploaded` counts what the collector newly stored, whichever request stored it: an alert
accepted through /v1/alerts is counted then, and not again as a duplicate when its batch
follows (the ids are remembered for the life of the uploader).
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import uuid
from typing import Any, Callable

from gate.store import Store
from gate.sync.client import SignedClient
from gate.sync.errors import Stop
from gate.sync.result import RoundResult
from gate.sync.retry import Retrier

log = logging.getLogger("gate.sync")

GZIP_LEVEL = 1
TOO_LARGE_ERROR = "too_large: the collector refuses this record even alone (413)"

Named = tuple[list[str], list[str], dict[str, str]]  # accepted, duplicates, rejected {id: error}


class Uploader:
    """Sends one gate's alerts and queued records; `clock` stamps the store's marks."""

    def __init__(self, client: SignedClient, store: Store, retrier: Retrier, *,
                 batch_size: int = 500, gzip_level: int = GZIP_LEVEL,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.store = store
        self.retrier = retrier
        self.batch_size = max(1, int(batch_size))
        # What the collector last took after a 413: kept for the life of this uploader.
        self._size = self.batch_size
        self.gzip_level = gzip_level
        self._clock = clock
        self._stored_by_alert: set[str] = set()

    # --- alerts ---------------------------------------------------------------------------

    def send_alerts(self, result: RoundResult) -> None:
        """Every pending alert, oldest first, in requests of up to the batch size (halved on 413).

        Each request's records leave the pending alerts (named by the collector: sent or
        rejected; a lone one too large: rejected) or the round stops (`Stop`), so the loop ends;
        an alert the collector's answer names twice over is a protocol fault, never a loop.
        """
        tried: set[str] = set()
        while True:
            chunk = [r.to_json() for r in self.store.pending_alerts(self._size)]
            if not chunk:
                return
            sent = [r["id"] for r in chunk]
            if tried.intersection(sent):
                raise Stop("protocol", "alerts: the collector's answer left alerts pending that it "
                           "had named; they stay queued")
            named = self._post("/v1/alerts", chunk, "alerts", result=result)
            if named is None:  # too large: sent again smaller, or rejected when alone
                continue
            tried.update(sent)
            accepted, duplicates, rejected = named
            now = self._clock()
            taken = [i for i in sent if i in accepted or i in duplicates]
            if taken:
                self.store.mark_alert_sent(taken, now=now)
            self._reject({i: e for i, e in rejected.items() if i in sent}, result)
            new = [i for i in sent if i in accepted]
            self._stored_by_alert.update(new)
            result.uploaded += len(new)
            result.alerts_sent += len(taken)
            self._all_named(sent, named, "alerts")

    # --- batches --------------------------------------------------------------------------

    def send_batches(self, result: RoundResult, *, progress: Callable[[int], None] | None = None,
                     stop: Callable[[], bool] = lambda: False) -> None:
        """Batches oldest first until the queue is empty or `stop()`; Stop on a failure."""
        while not stop():
            records = self.store.pending_json(self._size)
            if not records:
                return
            named = self._post("/v1/scans", records, "upload", progress=progress, result=result)
            if named is None:
                continue
            self._settle(records, named, result, progress)

    def _settle(self, records: list[dict[str, Any]], named: Named, result: RoundResult,
                progress: Callable[[int], None] | None) -> None:
        """Mark what the collector's 200 named: delivered (accepted, duplicates) or rejected."""
        accepted, duplicates, rejected = named
        sent = {r["id"] for r in records}
        new = [i for i in accepted if i in sent]
        again = [i for i in duplicates if i in sent]
        if new or again:
            self.store.mark_delivered(new + again, now=self._clock())
        self._reject({i: e for i, e in rejected.items() if i in sent}, result)
        stored_as_alert = [i for i in again if i in self._stored_by_alert]
        self._stored_by_alert.difference_update(new + again)
        result.uploaded += len(new)
        result.duplicates += len(again) - len(stored_as_alert)
        if progress:
            progress(len(set(new) | set(again) | (set(rejected) & sent)))
        self._all_named(list(sent), named, "upload")

    # --- one request ----------------------------------------------------------------------

    def _post(self, path: str, records: list[dict[str, Any]], what: str, *,
              progress: Callable[[int], None] | None = None,
              result: RoundResult | None = None) -> Named | None:
        """The collector's answer naming the records, or None after a 413 (size adjusted)."""
        body = self._gzip({"batch_id": str(uuid.uuid4()), "records": records})
        answer = self.retrier(lambda: self.client.send("POST", path, body, what=what,
                                                       accept=(200, 413)))
        if answer.status == 413:
            if len(records) == 1:
                rid = records[0]["id"]
                self.store.mark_rejected({rid: TOO_LARGE_ERROR}, now=self._clock())
                log.warning("record %s rejected: %s", rid, TOO_LARGE_ERROR)
                if result is not None:
                    result.rejected += 1
                if progress:
                    progress(1)
                return None
            self._size = max(1, len(records) // 2)
            log.info("the collector found a batch of %d too large; sending %d at a time",
                     len(records), self._size)
            return None
        return self._named(answer.json(), what)

    @staticmethod
    def _named(body: Any, what: str) -> Named:
        if not isinstance(body, dict):
            raise Stop("protocol", f"{what}: the collector's 200 is not a JSON object")
        accepted = body.get("accepted", [])
        duplicates = body.get("duplicates", [])
        rejected_raw = body.get("rejected", [])
        if not (isinstance(accepted, list) and isinstance(duplicates, list)
                and isinstance(rejected_raw, list)):
            raise Stop("protocol", f"{what}: the collector's answer lacks its id lists")
        rejected = {}
        for entry in rejected_raw:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                rejected[entry["id"]] = str(entry.get("error") or "rejected")
        return ([i for i in accepted if isinstance(i, str)],
                [i for i in duplicates if isinstance(i, str)], rejected)

    def _reject(self, refused: dict[str, str], result: RoundResult) -> None:
        if not refused:
            return
        self.store.mark_rejected(refused, now=self._clock())
        result.rejected += len(refused)
        for record_id, error in refused.items():
            log.warning("record %s rejected by the collector: %s", record_id, error)

    @staticmethod
    def _all_named(sent: list[str], named: Named, what: str) -> None:
        accepted, duplicates, rejected = named
        unnamed = set(sent) - set(accepted) - set(duplicates) - set(rejected)
        if unnamed:
            raise Stop("protocol", f"{what}: the collector's answer left {len(unnamed)} of the "
                       f"{len(sent)} records sent unnamed; they stay queued")

    def _gzip(self, obj: Any) -> bytes:
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return gzip.compress(raw, compresslevel=self.gzip_level, mtime=0)
