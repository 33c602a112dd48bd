"""Sync: the gate's side of spec/upload.md — fetch the lists, send alerts, upload the queue.

A round, in the spec's order:

1. ``GET /v1/trustlist``: applied to the trust store; a list that is refused (bad signature,
   rollback, bad shape) is logged, the previous state stays in force, and the round goes on.
2. ``GET /v1/statuslist?since=<version in force>``: 304 means nothing newer; a delta that does
   not apply (wrong base, bad signature) is followed by one request for the full list (since=0).
3. ``POST /v1/alerts``: each pending alert record on its own; marked sent on the collector's 200.
4. ``POST /v1/scans``: batches oldest first until the queue is empty or the network fails.
   Records are marked delivered only once a 200 names their id (accepted or duplicates);
   rejected ones are marked rejected and never resent; a 413 halves the batch (a single record
   still too large is marked rejected).

Then retention: delivered records older than ``store.retention_days`` go, and when the disk is
nearly full the oldest delivered records go first (the store sets the flag the health check reads).

Failures: 429, 5xx, timeouts, refused or reset connections stop the round and schedule the next
after an exponential backoff with full jitter (base 2 s, cap 300 s) on a monotonic clock,
honouring ``Retry-After``. 401/403 stop the round too and are written to the store's meta
(`META_PROBLEM`) so ``gate doctor`` shows them until a later round succeeds. A 401
``{"error": "clock", "server_time": N}`` teaches the gate the collector's clock: the offset is
used for signing only, and the request is sent once more. Retries live here and in the store,
never inside urllib3 (``max_retries=0``).

All of it can be interrupted at any point (a kill -9 included): nothing is marked delivered
before the collector's answer names it, and a record sent twice is stored once by the collector.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import random as random_module
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from requests.adapters import HTTPAdapter

from gate import devicesig
from gate.codes import keys as keylib
from gate.codes.trust import TrustError, TrustStore
from gate.errors import GateError
from gate.store import Store, StoreUnavailable

log = logging.getLogger("gate.sync")

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
# A Retry-After is honoured, but a collector asking for days of silence is not believed.
RETRY_AFTER_MAX_S = 3600.0
LISTS_EVERY_S = 900.0
MIN_FREE_BYTES = 64 * 1024 * 1024
GZIP_LEVEL = 1
ALERT_CHUNK = 100

META_BACKOFF = "sync.backoff"  # {"failures", "delay_s", "until" (epoch), "error"}
META_PROBLEM = "sync.problem"  # {"at", "status", "error", "message"}: 401/403, for the doctor
META_CLOCK_OFFSET = "sync.clock_offset_s"  # collector clock minus gate clock, for signing
META_LAST_SUCCESS = "sync.last_success"  # {"at", "uploaded", "duplicates", "rejected", ...}
META_TRUST_ETAG = "sync.trust_etag"  # {"etag", "version"} of the trust list in force

TOO_LARGE_ERROR = "too_large: the collector refuses this record even alone (413)"


class SyncSetupError(GateError, ValueError):
    """Sync cannot start (device key missing or unusable); the message is one line."""


@dataclass
class RoundResult:
    """What one sync round did.

    `error` is None when the round ran to the end (queue empty, or stopped on request), else one
    line saying why it stopped; `stopped_by` is then "network" (timeouts, refused or reset
    connections), "unavailable" (429/5xx), "auth" (401/403), "protocol" (an answer that makes no
    sense) or "store" (the local store failed). `next_attempt_in`: seconds until the next round
    should start (the backoff; 0 after a good round). `list_problems`: lists that were refused.
    """

    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts_sent: int = 0
    trust_updated: bool = False
    status_updated: bool = False
    remaining: int = 0
    error: str | None = None
    next_attempt_in: float = 0.0
    stopped_by: str | None = None
    list_problems: list[str] = field(default_factory=list)
    pruned: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for a person or the journal."""
        parts = [f"{self.uploaded} uploaded", f"{self.duplicates} already there",
                 f"{self.rejected} rejected", f"{self.alerts_sent} alerts",
                 f"{self.remaining} still queued"]
        if self.trust_updated:
            parts.append("trust list updated")
        if self.status_updated:
            parts.append("status list updated")
        text = "sync: " + ", ".join(parts)
        if self.error:
            text += f"; stopped: {self.error}"
            if self.next_attempt_in:
                text += f" (next try in {self.next_attempt_in:.0f} s)"
        return text


class _Stop(Exception):
    """The round cannot go on: `kind` as RoundResult.stopped_by, optional Retry-After."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None,
                 status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
        self.code = code


def load_device_key(path: Path) -> Ed25519PrivateKey:
    """The gate's Ed25519 device key from its PEM file; SyncSetupError (one line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise SyncSetupError(
            f"device key {path} is missing: make one with 'gate keys' and register its public "
            "key with the collector"
        )
    try:
        key = keylib.load_private_key(path)
    except ValueError as exc:
        raise SyncSetupError(f"device key {path} cannot be used: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SyncSetupError(f"device key {path} is not an Ed25519 key (upload.md requires Ed25519)")
    return key


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


def backoff_delay(failures: int, random: Callable[[], float] = random_module.random,
                  base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(failures-1))]."""
    exponent = max(0, failures - 1)
    ceiling = cap_s if exponent >= 30 else min(cap_s, base_s * (2 ** exponent))
    return random() * ceiling


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _error_code(resp: requests.Response) -> str:
    body = _json(resp)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


class Syncer:
    """Talks to the collector for one gate: `round()` once, or `run_forever()` beside the kiosk.

    `store` is the gate's record store; `trust` its trust store opened on the same state file
    as the kiosk's (`gate.pipeline.state_paths`), or None to skip the lists. `clock` is wall
    time (signing, record marks, Retry-After dates), `monotonic` schedules retries, `sleep`
    and `random` are injectable for tests.
    """

    def __init__(
        self,
        store: Store,
        trust: TrustStore | None,
        *,
        url: str,
        device_id: str,
        device_key: Ed25519PrivateKey,
        batch_size: int = 500,
        timeout_s: float = 10.0,
        retention_days: int = 28,
        min_free_bytes: int = MIN_FREE_BYTES,
        gzip_level: int = GZIP_LEVEL,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random_module.random,
        session: requests.Session | None = None,
    ) -> None:
        if not url:
            raise SyncSetupError("collector.url is empty: uploads are off")
        self.store = store
        self.trust = trust
        self.base_url = url.rstrip("/")
        self._base_path = requests.utils.urlparse(self.base_url).path.rstrip("/")
        self.device_id = device_id
        self._key = device_key
        self.batch_size = max(1, int(batch_size))
        # What the collector last accepted after a 413: kept for the life of this Syncer.
        self._size = self.batch_size
        self.timeout_s = float(timeout_s)
        self.retention_days = retention_days
        self.min_free_bytes = min_free_bytes
        self.gzip_level = gzip_level
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._random = random
        self.session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"gate-sync ({device_id})"
        self.clock_offset_s = float(store.meta_get(META_CLOCK_OFFSET, 0.0) or 0.0)
        backoff = store.meta_get(META_BACKOFF) or {}
        self._failures = int(backoff.get("failures", 0)) if isinstance(backoff, dict) else 0
        self._not_before = self._monotonic()
        if self._failures and isinstance(backoff, dict):
            # Carried over from an earlier process: the wall-clock deadline, clamped to the delay
            # it came from so that a clock step cannot stretch it.
            delay = float(backoff.get("delay_s", 0.0))
            remaining = min(max(0.0, float(backoff.get("until", 0.0)) - self._clock()), delay)
            self._not_before += remaining

    @classmethod
    def from_config(cls, cfg: Any, store: Store, trust: TrustStore | None,
                    **kwargs: Any) -> "Syncer":
        """A Syncer for a loaded gate configuration (collector, device and store sections)."""
        key = kwargs.pop("device_key", None) or load_device_key(cfg.device.key)
        return cls(
            store, trust, url=cfg.collector.url, device_id=cfg.device.id, device_key=key,
            batch_size=cfg.collector.batch_size, timeout_s=cfg.collector.timeout_s,
            retention_days=cfg.store.retention_days, **kwargs,
        )

    # --- scheduling -----------------------------------------------------------------------------

    @property
    def failures(self) -> int:
        """Rounds failed in a row (the backoff exponent)."""
        return self._failures

    def due_in(self) -> float:
        """Seconds until the next round may start (0 when it may start now)."""
        return max(0.0, self._not_before - self._monotonic())

    def _failed(self, stop: _Stop) -> float:
        self._failures += 1
        delay = backoff_delay(self._failures, self._random)
        if stop.retry_after is not None:
            delay = max(delay, min(stop.retry_after, RETRY_AFTER_MAX_S))
        self._not_before = self._monotonic() + delay
        try:
            self.store.meta_set(META_BACKOFF, {"failures": self._failures, "delay_s": delay,
                                               "until": self._clock() + delay, "error": str(stop)})
            if stop.kind == "auth":
                self.store.meta_set(META_PROBLEM, {"at": self._clock(), "status": stop.status,
                                                   "error": stop.code, "message": str(stop)})
        except StoreUnavailable as exc:
            log.warning("could not record the sync failure: %s", exc)
        return delay

    def _succeeded(self, result: RoundResult) -> None:
        if self._failures or self.store.meta_get(META_BACKOFF) is not None:
            self.store.meta_set(META_BACKOFF, None)
        self._failures = 0
        self._not_before = self._monotonic()
        if self.store.meta_get(META_PROBLEM) is not None:
            self.store.meta_set(META_PROBLEM, None)
        self.store.meta_set(META_LAST_SUCCESS, {
            "at": self._clock(), "uploaded": result.uploaded, "duplicates": result.duplicates,
            "rejected": result.rejected, "alerts_sent": result.alerts_sent,
        })

    # --- HTTP -----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: bytes = b"",
              headers: Mapping[str, str] | None = None) -> requests.Response:
        """One signed request; a clock refusal teaches the offset and the request goes once more."""
        target = self._base_path + path
        for attempt in (1, 2):
            timestamp = int(self._clock() + self.clock_offset_s)
            all_headers = devicesig.sign_headers(self._key, self.device_id, method, target, body,
                                                 timestamp)
            if body:
                all_headers["Content-Type"] = "application/json"
                all_headers["Content-Encoding"] = "gzip"
            all_headers.update(headers or {})
            try:
                resp = self.session.request(
                    method, self.base_url + path, data=body or None, headers=all_headers,
                    timeout=(self.timeout_s, self.timeout_s), allow_redirects=False,
                )
            except requests.Timeout:
                raise _Stop("network", f"{method} {path}: no answer within {self.timeout_s:g} s") from None
            except requests.RequestException as exc:
                raise _Stop("network", f"{method} {path}: {_one_line(exc)}") from None
            if resp.status_code == 401 and attempt == 1:
                answer = _json(resp)
                if isinstance(answer, dict) and answer.get("error") == "clock":
                    server_time = answer.get("server_time")
                    if isinstance(server_time, (int, float)) and not isinstance(server_time, bool):
                        self._learn_offset(float(server_time))
                        continue
            return resp
        raise AssertionError("unreachable")

    def _learn_offset(self, server_time: float) -> None:
        offset = server_time - self._clock()
        log.warning("the collector's clock differs from this gate's by %+.0f s; signing with "
                    "the collector's time", offset)
        self.clock_offset_s = offset
        self.store.meta_set(META_CLOCK_OFFSET, offset)

    def _check(self, resp: requests.Response, what: str) -> None:
        """Return on 200; otherwise the _Stop that the status calls for."""
        status = resp.status_code
        if status == 200:
            return
        code = _error_code(resp)
        if status in (401, 403):
            raise _Stop("auth", f"{what}: {self._auth_message(status, code)}", status=status,
                        code=code or None)
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"),
                                            self._clock() + self.clock_offset_s)
            detail = f" ({code})" if code else ""
            raise _Stop("unavailable", f"{what}: the collector answered {status}{detail}",
                        retry_after=retry_after, status=status, code=code or None)
        detail = f" ({code})" if code else ""
        raise _Stop("protocol", f"{what}: unexpected answer {status}{detail} from the collector",
                    status=status, code=code or None)

    def _auth_message(self, status: int, code: str) -> str:
        device = self.device_id
        if code == "unknown_device":
            return (f"the collector does not know device {device!r}: register its public key "
                    "with 'gate collector add-device'")
        if code == "bad_signature":
            return (f"the collector refused the signature of device {device!r}: device.key is "
                    "not the key registered for it")
        if code == "device_disabled":
            return f"the collector has disabled device {device!r}"
        if code == "clock":
            return "the collector still refuses this gate's clock after correcting for it"
        return f"the collector refused this gate ({status}{' ' + code if code else ''})"

    def _answer(self, resp: requests.Response, what: str) -> tuple[list[str], list[str], dict[str, str]]:
        """accepted, duplicates, rejected {id: error} of a 200 upload answer."""
        body = _json(resp)
        if not isinstance(body, dict):
            raise _Stop("protocol", f"{what}: the collector's 200 is not a JSON object")
        accepted = body.get("accepted", [])
        duplicates = body.get("duplicates", [])
        rejected_raw = body.get("rejected", [])
        if not (isinstance(accepted, list) and isinstance(duplicates, list)
                and isinstance(rejected_raw, list)):
            raise _Stop("protocol", f"{what}: the collector's answer lacks its id lists")
        rejected = {}
        for entry in rejected_raw:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                rejected[entry["id"]] = str(entry.get("error") or "rejected")
        return ([i for i in accepted if isinstance(i, str)],
                [i for i in duplicates if isinstance(i, str)], rejected)

    def _gzip(self, obj: Any) -> bytes:
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return gzip.compress(raw, compresslevel=self.gzip_level, mtime=0)

    # --- the round ------------------------------------------------------------------------------

    def round(self, *, lists: bool = True, progress: Callable[[int], None] | None = None,
              stop: Callable[[], bool] | None = None) -> RoundResult:
        """One sync round in the spec's order; never raises for network or collector trouble.

        `lists=False` skips the two list fetches (the forever loop fetches them when due).
        `progress(n)` is told of every n records dealt with; `stop()` is asked between batches.
        """
        result = RoundResult()
        try:
            if lists:
                self._fetch_lists(result)
            self._send_alerts(result)
            self._send_batches(result, progress, stop or (lambda: False))
        except _Stop as exc:
            result.error = str(exc)
            result.stopped_by = exc.kind
            result.next_attempt_in = self._failed(exc)
            log.warning("sync stopped: %s; next try in %.0f s", exc, result.next_attempt_in)
        except StoreUnavailable as exc:
            result.error = str(exc)
            result.stopped_by = "store"
            result.next_attempt_in = self._failed(_Stop("store", str(exc)))
            log.error("sync stopped: %s", exc)
        else:
            try:
                self._succeeded(result)
            except StoreUnavailable as exc:
                log.warning("could not record the sync round: %s", exc)
        self._retention(result)
        try:
            result.remaining = self.store.queue_depth()
        except StoreUnavailable as exc:
            log.warning("could not count the queue: %s", exc)
            result.remaining = -1
        return result

    def _fetch_lists(self, result: RoundResult) -> None:
        """Trust list then status list; trouble with the trust state never stops the uploads."""
        try:
            self._fetch_trust_list(result)
            self._fetch_status_list(result)
        except (sqlite3.Error, TrustError) as exc:
            self._list_refused(result, f"lists not applied: trust state: {_one_line(exc)}")

    def _fetch_trust_list(self, result: RoundResult) -> None:
        if self.trust is None:
            return
        self.trust.refresh()
        headers = {}
        known = self.store.meta_get(META_TRUST_ETAG)
        if isinstance(known, dict) and known.get("version") == self.trust.trust_version:
            headers["If-None-Match"] = str(known.get("etag"))
        resp = self._call("GET", "/v1/trustlist", headers=headers)
        if resp.status_code == 304:
            return
        if resp.status_code == 404:
            log.info("the collector has no trust list")
            return
        self._check(resp, "trust list")
        try:
            result.trust_updated = self.trust.apply_trust_list(
                resp.content, resp.headers.get("X-Signature", ""))
        except TrustError as exc:
            self._list_refused(result, f"trust list from the collector refused: {exc}")
            return
        except sqlite3.Error as exc:
            self._list_refused(result, f"trust list not applied: trust state: {_one_line(exc)}")
            return
        etag = resp.headers.get("ETag")
        if etag and (not isinstance(known, dict) or known.get("etag") != etag
                     or known.get("version") != self.trust.trust_version):
            self.store.meta_set(META_TRUST_ETAG, {"etag": etag, "version": self.trust.trust_version})

    def _fetch_status_list(self, result: RoundResult) -> None:
        if self.trust is None:
            return
        self.trust.refresh()
        current = self.trust.status_version
        for since in ((current, 0) if current else (0,)):
            resp = self._call("GET", f"/v1/statuslist?since={since}")
            if resp.status_code == 304:
                return
            if resp.status_code == 404:
                log.info("the collector has no status list")
                return
            self._check(resp, "status list")
            try:
                result.status_updated = self.trust.apply_status_list(
                    resp.content, resp.headers.get("X-Signature", ""))
                return
            except TrustError as exc:
                what = "delta" if since else "full list"
                self._list_refused(result, f"status list ({what} since {since}) refused: {exc}")
            except sqlite3.Error as exc:
                self._list_refused(result, f"status list not applied: trust state: {_one_line(exc)}")
                return

    def _list_refused(self, result: RoundResult, message: str) -> None:
        log.warning("%s; the list in force stays", message)
        result.list_problems.append(message)

    def _send_alerts(self, result: RoundResult) -> None:
        tried: set[str] = set()
        while True:
            alerts = [r for r in self.store.pending_alerts(ALERT_CHUNK) if r.id not in tried]
            if not alerts:
                return
            for record in alerts:
                tried.add(record.id)
                resp = self._call("POST", "/v1/alerts", self._gzip(record.to_json()))
                if resp.status_code == 413:
                    self.store.mark_rejected({record.id: TOO_LARGE_ERROR}, now=self._clock())
                    result.rejected += 1
                    log.warning("alert %s rejected: %s", record.id, TOO_LARGE_ERROR)
                    continue
                self._check(resp, "alert")
                accepted, duplicates, rejected = self._answer(resp, "alert")
                if record.id in accepted or record.id in duplicates:
                    self.store.mark_alert_sent([record.id], now=self._clock())
                    result.alerts_sent += 1
                elif record.id in rejected:
                    self.store.mark_rejected({record.id: rejected[record.id]}, now=self._clock())
                    result.rejected += 1
                    log.warning("alert %s rejected by the collector: %s", record.id,
                                rejected[record.id])

    def _send_batches(self, result: RoundResult, progress: Callable[[int], None] | None,
                      stop: Callable[[], bool]) -> None:
        while not stop():
            records = self.store.pending_json(self._size)
            if not records:
                return
            body = self._gzip({"batch_id": str(uuid.uuid4()), "records": records})
            resp = self._call("POST", "/v1/scans", body)
            if resp.status_code == 413:
                if len(records) == 1:
                    self.store.mark_rejected({records[0]["id"]: TOO_LARGE_ERROR}, now=self._clock())
                    result.rejected += 1
                    log.warning("record %s rejected: %s", records[0]["id"], TOO_LARGE_ERROR)
                    if progress:
                        progress(1)
                else:
                    self._size = max(1, len(records) // 2)
                    log.info("the collector found a batch of %d too large; sending %d at a time",
                             len(records), self._size)
                continue
            self._check(resp, "upload")
            self._settle(records, resp, result, progress)

    def _settle(self, records: list[dict[str, Any]], resp: requests.Response,
                result: RoundResult, progress: Callable[[int], None] | None) -> None:
        """Mark what the collector's 200 named: delivered (accepted, duplicates) or rejected."""
        accepted, duplicates, rejected = self._answer(resp, "upload")
        sent = {r["id"] for r in records}
        new = [i for i in accepted if i in sent]
        again = [i for i in duplicates if i in sent]
        refused = {i: e for i, e in rejected.items() if i in sent}
        now = self._clock()
        if new or again:
            self.store.mark_delivered(new + again, now=now)
        if refused:
            self.store.mark_rejected(refused, now=now)
            for record_id, error in refused.items():
                log.warning("record %s rejected by the collector: %s", record_id, error)
        result.uploaded += len(new)
        result.duplicates += len(again)
        result.rejected += len(refused)
        if progress:
            progress(len(set(new) | set(again) | set(refused)))
        unnamed = sent - set(new) - set(again) - set(refused)
        if unnamed:
            raise _Stop("protocol", f"upload: the collector's answer left {len(unnamed)} of the "
                        f"{len(sent)} records sent unnamed; they stay queued")

    def _retention(self, result: RoundResult) -> None:
        """Delete old delivered records; free space by deleting the oldest delivered first."""
        now = self._clock()
        try:
            result.pruned = self.store.prune(self.retention_days, now)
            if self.store.free_bytes() < self.min_free_bytes:
                deleted = self.store.free_space_prune(self.min_free_bytes, now)
                if deleted:
                    log.warning("disk nearly full: deleted the %d oldest delivered records", deleted)
                result.pruned += deleted
        except StoreUnavailable as exc:
            log.warning("retention skipped: %s", exc)

    # --- beside the kiosk -----------------------------------------------------------------------

    def run_forever(
        self,
        stop: Callable[[], bool],
        *,
        lists_every_s: float = LISTS_EVERY_S,
        poll_s: float = 2.0,
        on_round: Callable[[RoundResult], None] | None = None,
        progress_for: Callable[[int], Any] | None = None,
    ) -> None:
        """Rounds until `stop()` is true: when records or alerts wait or the lists are due.

        The lists are fetched every `lists_every_s` and on the first round after a failure;
        between rounds the queue is looked at every `poll_s`, and a failed round waits out its
        backoff. `progress_for(backlog)` may return a context manager whose `update(n)` shows
        progress (a progress bar on a terminal), or None.
        """
        lists_due_at = self._monotonic()
        lists_after_failure = False
        while not stop():
            wait = self.due_in()
            if wait <= 0:
                lists_due = lists_after_failure or self._monotonic() >= lists_due_at
                try:
                    waiting = (self.store.oldest_pending_scanned_at() is not None
                               or bool(self.store.pending_alerts(1)))
                except StoreUnavailable as exc:
                    log.warning("cannot read the queue: %s", exc)
                    waiting = False
                if waiting or lists_due:
                    result = self._round_with_progress(lists_due, stop, progress_for)
                    if result.ok and lists_due:
                        lists_due_at = self._monotonic() + lists_every_s
                    lists_after_failure = not result.ok
                    if on_round:
                        on_round(result)
                    if result.ok and result.remaining > 0 and not stop():
                        continue  # more arrived meanwhile: go on at once
                    wait = self.due_in()
            self._idle(wait if wait > 0 else poll_s, stop)

    def _round_with_progress(self, lists: bool, stop: Callable[[], bool],
                             progress_for: Callable[[int], Any] | None) -> RoundResult:
        bar = None
        if progress_for is not None:
            try:
                bar = progress_for(self.store.queue_depth())
            except StoreUnavailable:
                bar = None
        if bar is None:
            return self.round(lists=lists, stop=stop)
        with bar:
            return self.round(lists=lists, stop=stop, progress=bar.update)

    def _idle(self, seconds: float, stop: Callable[[], bool]) -> None:
        """Wait `seconds` on the monotonic clock, in short sleeps so that a stop is seen soon."""
        end = self._monotonic() + seconds
        while not stop():
            left = end - self._monotonic()
            if left <= 0:
                return
            self._sleep(min(left, 0.5))

    def close(self) -> None:
        """Close the HTTP session; the store and trust store belong to the caller."""
        self.session.close()


def sync_health(store: Store) -> dict[str, Any]:
    """What the health check shows about sync, from the store alone (no network).

    Keys: `problem` (a 401/403 recorded until a later round succeeds, else None), `failures`
    (rounds failed in a row), `last_error`, `next_attempt_at` (epoch), `last_success`
    (epoch of the last good round, or None), `queue_depth`, `oldest_pending_scanned_at`,
    `free_space_pruned` (the store's flag), `clock_offset_s`.
    """
    backoff = store.meta_get(META_BACKOFF) or {}
    last = store.meta_get(META_LAST_SUCCESS) or {}
    return {
        "problem": store.meta_get(META_PROBLEM),
        "failures": int(backoff.get("failures", 0)) if isinstance(backoff, dict) else 0,
        "last_error": backoff.get("error") if isinstance(backoff, dict) else None,
        "next_attempt_at": backoff.get("until") if isinstance(backoff, dict) else None,
        "last_success": last.get("at") if isinstance(last, dict) else None,
        "queue_depth": store.queue_depth(),
        "oldest_pending_scanned_at": store.oldest_pending_scanned_at(),
        "free_space_pruned": store.free_space_pruned(),
        "clock_offset_s": float(store.meta_get(META_CLOCK_OFFSET, 0.0) or 0.0),
    }


__all__ = [
    "RoundResult", "Syncer", "SyncSetupError", "backoff_delay", "load_device_key",
    "parse_retry_after", "sync_health",
]
