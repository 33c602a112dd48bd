"""What the sync tests share: a backlog of records, a gate folder, and a collector that misbehaves.

`FaultyProxy` sits on loopback in front of a real collector and forwards each HTTP/1.1 request;
`plan` tells it what to do with the Nth `POST /v1/scans` instead (1-based), and `plans` the
same for the Nth request to another path (`{"/v1/heartbeat": {1: "silent"}}`):

- "cut": forward it (the collector stores the batch), then cut the connection unanswered;
- "slow": forward it, then wait `slow_s` before answering (the gate times out meanwhile);
- "drip": forward it, then send the collector's answer one byte every `drip_s`;
- "drip-body": the same, but the status line and headers at once, only the body dripped;
- "drip-head": answer a header line that never ends, one byte every `drip_s`;
- "huge": forward it, then answer 200 with an endless body (`huge_declared`: announced as 3 GB
  in Content-Length; otherwise no length, the body runs until the gate hangs up);
- "silent": read the request and never answer (until the gate hangs up);
- "413": answer 413 itself; any other status ("429", "500", "503"): answer it with `Retry-After`;
- "stop": stop the collector (`on_stop` is called) and cut the connection.

A flaky link on every path: `fail_rate` of the requests are answered 503 (no Retry-After) and
`drop_rate` forwarded then cut unanswered, drawn from `random.Random(seed)`.

`max_records` answers 413 to any batch longer than that; `too_large_ids` answers 413 to any
batch holding one of these ids; `delay_s` slows every upload down. `sends` counts how often
each record id went to the collector (in /v1/scans and /v1/alerts bodies), `counts` the
requests per path, `answered` the collector's status for each request forwarded.
"""

from __future__ import annotations

import gzip
import collections
import http.client
import json
import random
import shutil
import socket
import socketserver
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from gate.codes import keys as keylib
from gate.record import Record, iso_utc_ms, new_uuid7
from gate.store import Store

DEVICE_ID = "gate-test-0001"
BACKLOG = 3000  # the backlog of the sync tests
ALERT_EVERY = 1000  # three alerts in it
BASE_TIME = 1_795_000_000.0

GREEN = {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": "00" * 16,
         "cti": "a1b2c3d4e5f60708", "status": "green", "itinerary_risk": False}


def make_records(n: int, *, start: float = BASE_TIME, alert_every: int = 0,
                 **overrides: Any) -> list[Record]:
    """`n` scan records 10 ms apart, oldest first; every `alert_every`th one a `hold` (an alert)."""
    records = []
    for i in range(n):
        at = start + i * 0.01
        alert = bool(alert_every) and i % alert_every == alert_every - 1
        fields: dict[str, Any] = dict(
            id=new_uuid7(at), device_id=DEVICE_ID, venue_id="360102-012-north-gate",
            venue_type="residential", scanned_at=iso_utc_ms(at), clock_trusted=True,
            code=dict(GREEN), temperature_c=36.6, temperature_state="normal",
            decision="hold" if alert else "allow",
            decision_reasons=["green", "temperature_normal"], rules_version="residential@3",
            trust_list_version=7,
        )
        fields.update(overrides)
        records.append(Record(**fields))
    return records


def commit_all(store: Store, records: Iterable[Record]) -> list[str]:
    """Commit each record through the store's own path; their ids in order."""
    ids = []
    for record in records:
        store.commit(record)
        ids.append(record.id)
    return ids


def bulk_commit(path: Path, records: list[Record]) -> list[str]:
    """Write `records` into the store at `path` in one transaction; their ids in order.

    A backlog of thousands in a blink instead of one fsync per record.
    """
    with Store(path) as store:
        store.commit_many(records)
    return [r.id for r in records]


def copy_store(template: Path, dest: Path) -> Path:
    """A copy of a closed store file (no WAL left beside it) at `dest`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, dest)
    return dest


def make_trust_dir(root: Path, anchor_key: Any) -> Path:
    """A gate's trust folder holding only the anchor; the lists come from the collector."""
    anchors = root / "anchors"
    anchors.mkdir(parents=True, exist_ok=True)
    (anchors / "anchor.pem").write_bytes(keylib.public_pem(anchor_key.public_key()))
    return root


def write_device_key(path: Path, key: Any) -> Path:
    if not path.exists():
        keylib.write_private_key(path, key)
    return path


def collector_holds_each_once(collector: Any, ids: list[str]) -> bool:
    """The collector stores exactly these ids: as many rows as ids, and every id found."""
    return collector.stored_count() == len(ids) and all(
        collector.stored_record(i) is not None for i in ids)


# --- the misbehaving proxy ------------------------------------------------------------------


class FaultyProxy:
    """A loopback HTTP/1.1 proxy to `upstream` ("host", port) that follows `plan` (module doc)."""

    def __init__(self, upstream: tuple[str, int], *, plan: dict[int, str] | None = None,
                 max_records: int | None = None, too_large_ids: Iterable[str] = (),
                 retry_after: str = "7", delay_s: float = 0.0, slow_s: float = 2.0,
                 on_stop: Callable[[], None] | None = None,
                 plans: dict[str, dict[int, str]] | None = None, fail_rate: float = 0.0,
                 drop_rate: float = 0.0, seed: int = 1, drip_s: float = 0.05,
                 huge_declared: bool = False) -> None:
        self.upstream = upstream
        self.plan = dict(plan or {})
        self.plans = {path: dict(p) for path, p in (plans or {}).items()}
        self.fail_rate = fail_rate
        self.drop_rate = drop_rate
        self._random = random.Random(seed)
        self.drip_s = drip_s
        self.huge_declared = huge_declared
        self.counts: collections.Counter[str] = collections.Counter()
        self.sends: collections.Counter[str] = collections.Counter()
        self.max_records = max_records
        self.too_large_ids = set(too_large_ids)
        self.retry_after = retry_after
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.on_stop = on_stop
        self.uploads = 0  # POST /v1/scans requests seen
        self.seen: list[tuple[str, str, str]] = []  # (method, target, what was done)
        self.answered: list[tuple[str, int]] = []  # (path, the collector's status) forwarded
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with proxy._lock:
                    proxy._sockets.add(self.request)
                try:
                    proxy._serve(self.request)
                except OSError:
                    pass
                finally:
                    with proxy._lock:
                        proxy._sockets.discard(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in list(self._sockets):
                _cut(sock)

    def _action(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> str:
        path = target.split("?")[0]
        with self._lock:
            self.counts[path] += 1
            number = self.counts[path]
            roll = self._random.random()
            if method == "POST" and path.endswith(("/v1/scans", "/v1/alerts")):
                data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
                doc = json.loads(data)
                for record in doc["records"] if isinstance(doc, dict) and "records" in doc else [doc]:
                    self.sends[record["id"]] += 1
        planned = self.plans.get(path, {}).get(number)
        if planned:
            return planned
        if roll < self.fail_rate:
            return "flaky"
        if roll < self.fail_rate + self.drop_rate:
            return "cut"
        if not (method == "POST" and path.endswith("/v1/scans")):
            return "forward"
        with self._lock:
            self.uploads += 1
            number = self.uploads
        planned = self.plan.get(number)
        if planned:
            return planned
        if self.max_records is not None or self.too_large_ids:
            data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
            records = json.loads(data)["records"]
            if self.max_records is not None and len(records) > self.max_records:
                return "413"
            if any(r["id"] in self.too_large_ids for r in records):
                return "413"
        return "forward"

    def _serve(self, sock: socket.socket) -> None:
        rfile = sock.makefile("rb")
        while True:
            request_line = rfile.readline(65537)
            if not request_line.strip():
                return
            method, target, _ = request_line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                line = rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = rfile.read(int(headers.get("content-length", "0") or 0))
            action = self._action(method, target, body, headers)
            self.seen.append((method, target, action))
            if self.delay_s and method == "POST":
                time.sleep(self.delay_s)
            if action == "flaky":
                _answer(sock, 503, {"error": "busy"})
                continue
            if action == "drip-head":
                sock.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
                while True:  # until the gate hangs up
                    sock.sendall(b"a")
                    time.sleep(self.drip_s)
            if action == "silent":
                while sock.recv(65536):  # the gate's request is read; nothing is ever said
                    pass
                return
            if action.isdigit() and action != "413":
                _answer(sock, int(action), {"error": "busy"},
                        [("Retry-After", self.retry_after)] if self.retry_after else [])
                continue
            if action == "413":
                _answer(sock, 413, {"error": "too_large", "max_records": self.max_records or 0})
                continue
            if action == "stop":
                if self.on_stop:
                    self.on_stop()
                _cut(sock)
                return
            try:
                status, reason, out_headers, out_body = self._forward(method, target, headers, body)
                self.answered.append((target.split("?")[0], status))
            except OSError:
                _cut(sock)  # the collector is away: the gate sees its connection drop
                return
            if action == "cut":
                _cut(sock)
                return
            if action == "slow":
                time.sleep(self.slow_s)
            if action in ("drip", "drip-body"):
                self._drip(sock, status, reason, out_headers, out_body, head_too=action == "drip")
                return
            if action == "huge":
                self._huge(sock)
                return
            _write(sock, status, reason, out_headers, out_body)

    def _drip(self, sock: socket.socket, status: int, reason: str,
              headers: list[tuple[str, str]], body: bytes, head_too: bool) -> None:
        """The answer one byte every `drip_s` (after the headers at once unless `head_too`)."""
        kept = [(n, v) for n, v in headers
                if n.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive")]
        head = "\r\n".join([f"HTTP/1.1 {status} {reason}", *(f"{n}: {v}" for n, v in kept),
                             f"Content-Length: {len(body)}"]) + "\r\n\r\n"
        data = head.encode("latin-1") + body
        if not head_too:
            sock.sendall(data[:len(head)])
            data = data[len(head):]
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(self.drip_s)

    def _huge(self, sock: socket.socket) -> None:
        """200 and an endless body of spaces (valid JSON padding) until the gate hangs up."""
        length = "Content-Length: 3000000000\r\n" if self.huge_declared else "Connection: close\r\n"
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode())
        block = b" " * 65536
        while True:
            sock.sendall(block)

    def _forward(self, method: str, target: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            sent = {k: v for k, v in headers.items() if k not in ("connection", "keep-alive")}
            conn.request(method, target, body=body or None, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()


def _write(sock: socket.socket, status: int, reason: str, headers: list[tuple[str, str]],
           body: bytes) -> None:
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in headers:
        if name.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
            lines.append(f"{name}: {value}")
    if status != 304:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock.sendall(head + (body if status != 304 else b""))


def _answer(sock: socket.socket, status: int, obj: Any,
            headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
    reasons = {413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}
    _write(sock, status, reasons.get(status, ""),
           [("Content-Type", "application/json"), *headers], json.dumps(obj).encode())


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


# --- for the tests ------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def proxy_for(proxies: list[FaultyProxy], collector: Any, **options: Any) -> FaultyProxy:
    p = FaultyProxy(("127.0.0.1", collector.server.port), **options)
    proxies.append(p)
    return p


def closed_port_url() -> str:
    """The address of a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
