"""The signed client: one request to the collector, signed, bounded in time and in size.

Every request carries the device's signature (`gate.devicesig`, upload.md "Device identity").
A 401 ``{"error": "clock", "server_time": N}`` teaches the client the collector's clock: the
offset is used for signing only, and the request goes once more.

Every answer is bounded (upload.md): the whole request, from connecting to the last byte of the
answer, has `timeout_s`, and the answer at most `cap` bytes (`ANSWER_CAP` for POSTs, `LIST_CAP`
for lists). The answer is read streamed, a chunk at a time as it arrives, with the deadline and
the cap checked per chunk; a watchdog (`gate.sync.deadline`) shuts the connection's socket when
the deadline passes, so a peer that drips its headers or never answers cannot hold it either. A slower or
larger answer is a transient failure (`Stop("network")`), never a hang or a MemoryError.
Retries are not made here (urllib3's are off): see `gate.sync.retry`.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import time
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import requests
import urllib3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.codes import keys as keylib
from gate.sync.deadline import Deadline, DeadlineAdapter, watching
from gate.sync.errors import Stop, SyncSetupError, one_line

log = logging.getLogger("gate.sync")

ANSWER_CAP = 1 << 20  # answers to POSTs
LIST_CAP = 16 << 20  # trust list, status list, bulletin
CHUNK = 64 * 1024


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


@dataclass(frozen=True)
class Answer:
    """A complete answer of the collector: status, headers (case-insensitive) and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_code(self) -> str:
        """The collector's ``{"error": ...}``, or ""."""
        body = self.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
        return ""


_READ_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                OSError)


# --- the client ------------------------------------------------------------------------------


class SignedClient:
    """Signed, bounded requests to one collector for one device.

    `clock` is wall time (signing, Retry-After dates); `clock_offset_s` the collector's clock
    minus the gate's, as learned earlier; `on_offset(offset)` is told when a new one is learned.
    """

    def __init__(self, url: str, device_id: str, device_key: Ed25519PrivateKey, *,
                 timeout_s: float = 10.0, clock: Callable[[], float] = time.time,
                 clock_offset_s: float = 0.0, on_offset: Callable[[float], None] | None = None,
                 session: requests.Session | None = None) -> None:
        if not url:
            raise SyncSetupError("collector.url is empty: uploads are off")
        self.base_url = url.rstrip("/")
        self._base_path = requests.utils.urlparse(self.base_url).path.rstrip("/")
        self.device_id = device_id
        self._key = device_key
        self.timeout_s = float(timeout_s)
        self._clock = clock
        self.clock_offset_s = float(clock_offset_s)
        self._on_offset = on_offset
        self.session = session or requests.Session()
        adapter = DeadlineAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"gate-sync ({device_id})"
        self.requests_sent = 0

    def send(self, method: str, path: str, body: bytes = b"", *, what: str,
             headers: Mapping[str, str] | None = None, cap: int = ANSWER_CAP,
             accept: tuple[int, ...] = (200,)) -> Answer:
        """One request whose status must be in `accept`; otherwise the Stop its status calls for."""
        answer = self.call(method, path, body, headers=headers, cap=cap)
        if answer.status not in accept:
            raise self.refusal(answer, what)
        return answer

    def call(self, method: str, path: str, body: bytes = b"", *,
             headers: Mapping[str, str] | None = None, cap: int = ANSWER_CAP) -> Answer:
        """One signed request and its whole answer; Stop("network") when none came in time."""
        for attempt in (1, 2):
            answer = self._once(method, path, body, headers, cap)
            if answer.status == 401 and attempt == 1:
                got = answer.json()
                if isinstance(got, dict) and got.get("error") == "clock":
                    server_time = got.get("server_time")
                    if isinstance(server_time, (int, float)) and not isinstance(server_time, bool):
                        self._learn_offset(float(server_time))
                        continue
            return answer
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None,
              cap: int) -> Answer:
        target = self._base_path + path
        timestamp = int(self._clock() + self.clock_offset_s)
        all_headers = devicesig.sign_headers(self._key, self.device_id, method, target, body,
                                             timestamp)
        if body:
            all_headers["Content-Type"] = "application/json"
            all_headers["Content-Encoding"] = "gzip"
        all_headers.update(headers or {})
        what = f"{method} {path.split('?')[0]}"
        started = time.monotonic()
        self.requests_sent += 1
        with watching(self.timeout_s) as deadline:
            try:
                resp = self.session.request(
                    method, self.base_url + path, data=body or None, headers=all_headers,
                    timeout=(self.timeout_s, self.timeout_s), allow_redirects=False, stream=True,
                )
            except _READ_ERRORS as exc:
                raise self._network(what, exc, deadline) from None
            try:
                data = self._read(resp, cap, started, what, deadline)
            finally:
                resp.close()
            return Answer(resp.status_code, resp.headers, data)

    def _read(self, resp: requests.Response, cap: int, started: float, what: str,
              deadline: Deadline) -> bytes:
        """The body, chunk by chunk as it arrives, within the deadline and the cap."""
        declared = resp.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            raise Stop("network", f"{what}: the answer ({int(declared)} bytes) is larger than "
                       f"the {cap} bytes allowed")
        chunks: list[bytes] = []
        size = 0
        while True:
            if deadline.expired or time.monotonic() - started > self.timeout_s:
                raise self._too_slow(what)
            try:
                chunk = resp.raw.read1(CHUNK, decode_content=True)
            except _READ_ERRORS as exc:
                raise self._network(what, exc, deadline) from None
            if not chunk:
                if deadline.expired:
                    raise self._too_slow(what)
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise Stop("network", f"{what}: the answer is larger than the {cap} bytes allowed")
            chunks.append(chunk)

    def _too_slow(self, what: str) -> Stop:
        return Stop("network", f"{what}: no complete answer within {self.timeout_s:g} s")

    def _network(self, what: str, exc: BaseException, deadline: Deadline) -> Stop:
        if deadline.expired or isinstance(exc, requests.Timeout):
            return self._too_slow(what)
        return Stop("network", f"{what}: {one_line(exc)}")

    def _learn_offset(self, server_time: float) -> None:
        offset = server_time - self._clock()
        log.warning("the collector's clock differs from this gate's by %+.0f s; signing with "
                    "the collector's time", offset)
        self.clock_offset_s = offset
        if self._on_offset is not None:
            self._on_offset(offset)

    def refusal(self, answer: Answer, what: str) -> Stop:
        """The Stop that an answer other than the one expected calls for."""
        status = answer.status
        code = answer.error_code()
        detail = f" ({code})" if code else ""
        if status in (401, 403):
            return Stop("auth", f"{what}: {self._auth_message(status, code)}", status=status,
                        code=code or None)
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(answer.headers.get("Retry-After"),
                                            self._clock() + self.clock_offset_s)
            return Stop("unavailable", f"{what}: the collector answered {status}{detail}",
                        retry_after=retry_after, status=status, code=code or None)
        return Stop("protocol", f"{what}: unexpected answer {status}{detail} from the collector",
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

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
