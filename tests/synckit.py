"""What the sync tests share: a backlog of records, a gate folder, and a collector that misbehaves.

`FaultyProxy` sits on loopback in front of a real collector and forwards each HTTP/1.1 request;
`plan` tells it what to do with the Nth `POST /v1/scans` instead (1-based):

- "cut": forward it (the collector stores the batch), then cut the connection unanswered;
- "slow": forward it, then wait `slow_s` before answering (the gate times out meanwhile);
- "413": answer 413 itself; any other status ("429", "500", "503"): answer it with `Retry-After`;
- "stop": stop the collector (`on_stop` is called) and cut the connection.

`max_records` answers 413 to any batch longer than that; `too_large_ids` answers 413 to any
batch holding one of these ids; `delay_s` slows every upload down.
"""

from __future__ import annotations

import gzip
import http.client
import json
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
    return collector.db.count_records() == len(ids) and all(
        collector.db.record(i) is not None for i in ids)


# --- the misbehaving proxy ------------------------------------------------------------------


class FaultyProxy:
    """A loopback HTTP/1.1 proxy to `upstream` ("host", port) that follows `plan` (module doc)."""

    def __init__(self, upstream: tuple[str, int], *, plan: dict[int, str] | None = None,
                 max_records: int | None = None, too_large_ids: Iterable[str] = (),
                 retry_after: str = "7", delay_s: float = 0.0, slow_s: float = 2.0,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.upstream = upstream
        self.plan = dict(plan or {})
        self.max_records = max_records
        self.too_large_ids = set(too_large_ids)
        self.retry_after = retry_after
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.on_stop = on_stop
        self.uploads = 0  # POST /v1/scans requests seen
        self.seen: list[tuple[str, str, str]] = []  # (method, target, what was done)
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
        if not (method == "POST" and target.endswith("/v1/scans")):
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
            if action.isdigit() and action != "413":
                _answer(sock, int(action), {"error": "busy"}, [("Retry-After", self.retry_after)])
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
            except OSError:
                _cut(sock)  # the collector is away: the gate sees its connection drop
                return
            if action == "cut":
                _cut(sock)
                return
            if action == "slow":
                time.sleep(self.slow_s)
            _write(sock, status, reason, out_headers, out_body)

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
