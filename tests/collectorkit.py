"""Fixtures for tests that need a real collector on loopback (reusable by the gate's sync tests).

- `collector_server`: a started collector (SQLite) with one registered device; a `Collector`.
- `collector_factory(db_url=None, *, clock=..., alert_log=..., webhook_url=..., lists=...,
  directive_key=..., **create_app_options)` (e.g. ``retention_days``, ``trusted_proxies``):
  more collectors, e.g. on PostgreSQL or with a skewed clock; all stopped at teardown.
- `any_collector`: `collector_server`'s twin run once on SQLite and once on PostgreSQL.
- `postgres` (session): a `TemporaryPostgres`, skipped with the reason when none can run;
  `postgres_db_url`: a fresh database on it for one test.
- `device_key` / `DEVICE_ID`, `anchor_key`, `lists_dir` (signed trust list v7, full status list
  v1040, delta 1040->1043), `sign_list(path, doc)`, `make_record(**overrides)`,
  `webhook_recorder`.
"""

from __future__ import annotations

import base64
import gzip as gzip_module
import http.server
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate import devicesig
from gate.collector import django_db

django_db.setup()  # before any test module imports gate.collector.models

from gate.collector.app import CollectorApp, create_app  # noqa: E402
from gate.collector.server import BackgroundServer  # noqa: E402
from tests.postgreskit import PostgresUnavailable, TemporaryPostgres  # noqa: E402

DEVICE_ID = "gate-test-0001"


def write_signed(path: Path, document: Any, key: Ed25519PrivateKey) -> bytes:
    """Write `document` as JSON to `path` and its base64 signature to `path`.sig."""
    body = json.dumps(document, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    path.with_name(path.name + ".sig").write_text(base64.b64encode(key.sign(body)).decode())
    return body


def new_record(device_id: str = DEVICE_ID, **overrides: Any) -> dict[str, Any]:
    """A valid RECORD of upload.md with a fresh id."""
    record = {
        "id": str(uuid.uuid4()),
        "device_id": device_id,
        "venue_id": "360102-012-north-gate",
        "venue_type": "residential",
        "scanned_at": "2026-11-23T08:15:02.123Z",
        "clock_trusted": True,
        "code": {"valid": True, "reason": "ok", "issuer": "CN-JX", "sub": "00" * 16,
                 "cti": "a1b2c3d4e5f60708", "status": "green", "itinerary_risk": False},
        "temperature_c": 36.6,
        "temperature_state": "normal",
        "decision": "allow",
        "decision_reasons": ["green", "temperature_normal"],
        "rules_version": "residential@3",
        "trust_list_version": 7,
        "override": None,
    }
    record.update(overrides)
    return record


@dataclass
class Collector:
    """A running collector and a signing client for it."""

    server: BackgroundServer
    app: CollectorApp
    device_id: str
    device_key: Ed25519PrivateKey
    lists_dir: Path
    alert_log: Path | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def db(self) -> Any:
        return self.app.db

    # What the gate's sync tests look at, kept here so that they run unchanged against another
    # implementation of the collector: only these need to follow it.

    def stored_count(self) -> int:
        """How many scan records the collector holds."""
        return self.db.count_records()

    def stored_record(self, record_id: str) -> dict[str, Any] | None:
        """The stored RECORD with this id, or None."""
        return self.db.record(record_id)

    def alert_ids(self) -> set[str]:
        """The ids of the records that arrived as alerts."""
        return {a.id for a in self.db.recent_alerts(10_000)}

    def latest_heartbeat(self, device_id: str | None = None) -> tuple[float, dict[str, Any]] | None:
        """(arrival time, body) of the device's latest heartbeat, or None."""
        return self.db.heartbeat(device_id or self.device_id)

    def disable_device(self, device_id: str | None = None) -> None:
        self.db.set_device_enabled(device_id or self.device_id, False)

    def request(self, method: str, path: str, body: bytes = b"", *, gzip: bool = False,
                timestamp: int | None = None, key: Ed25519PrivateKey | None = None,
                device_id: str | None = None, headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> requests.Response:
        """One signed request, `body` sent as given (gzip-compressed first when `gzip`)."""
        if gzip:
            body = gzip_module.compress(body)
        all_headers = devicesig.sign_headers(
            key or self.device_key, device_id or self.device_id, method, path, body,
            int(time.time()) if timestamp is None else timestamp,
        )
        if body:
            all_headers["Content-Type"] = "application/json"
        if gzip:
            all_headers["Content-Encoding"] = "gzip"
        all_headers.update(headers or {})
        return self.session.request(method, self.url + path, data=body, headers=all_headers,
                                    timeout=timeout)

    def post_json(self, path: str, obj: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json.dumps(obj).encode(), **kwargs)

    def upload(self, records: list[dict[str, Any]], **kwargs: Any) -> requests.Response:
        return self.post_json("/v1/scans", {"batch_id": str(uuid.uuid4()), "records": records},
                              **kwargs)


@pytest.fixture(scope="session")
def anchor_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def device_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def lists_dir(tmp_path: Path, anchor_key: Ed25519PrivateKey) -> Path:
    root = tmp_path / "lists"
    write_signed(root / "trustlist.json",
                 {"version": 7, "issued_at": 1764000000, "expires_at": 1766592000,
                  "keys": [], "revoked_kids": []}, anchor_key)
    write_signed(root / "statuslist.json",
                 {"version": 1040, "base_version": 0, "issued_at": 1764000000, "entries": []},
                 anchor_key)
    write_signed(root / "statuslist.d" / "1040-1043.json",
                 {"version": 1043, "base_version": 1040, "issued_at": 1764003600,
                  "entries": [{"iss": "CN-JX", "sub": "00112233445566778899aabbccddeeff",
                               "status": 2, "since": 1764001000}]}, anchor_key)
    return root


@pytest.fixture
def sign_list(anchor_key: Ed25519PrivateKey) -> Callable[[Path, Any], bytes]:
    """Write a list document and its signature by the test anchor."""
    return lambda path, document: write_signed(path, document, anchor_key)


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return new_record


@pytest.fixture
def collector_factory(tmp_path: Path, lists_dir: Path,
                      device_key: Ed25519PrivateKey) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def make(db_url: str | None = None, *, clock: Callable[[], float] = time.time,
             alert_log: Path | None = None, webhook_url: str | None = None,
             lists: Path | None = None, threads: int = 4,
             directive_key: Path | None = None, **options: Any) -> Collector:
        url = db_url or f"sqlite:///{tmp_path / f'collector-{len(started)}.db'}"
        app = create_app(url, lists or lists_dir, alert_log=alert_log,
                         webhook_url=webhook_url, clock=clock, directive_key=directive_key,
                         **options)
        app.db.add_device(DEVICE_ID, devicesig.public_key_b64(device_key.public_key()))
        server = BackgroundServer(app, threads=threads).start()
        collector = Collector(server, app, DEVICE_ID, device_key, lists or lists_dir, alert_log)
        started.append(collector)
        return collector

    yield make
    for collector in started:
        collector.server.stop()
        collector.session.close()
        collector.app.close()


@pytest.fixture
def collector_server(collector_factory: Callable[..., Collector]) -> Collector:
    return collector_factory()


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_db_url(postgres: TemporaryPostgres) -> str:
    return postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_collector(request: pytest.FixtureRequest,
                  collector_factory: Callable[..., Collector]) -> Collector:
    if request.param == "sqlite":
        return collector_factory()
    return collector_factory(request.getfixturevalue("postgres_db_url"))


class WebhookRecorder:
    """A loopback HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.events: list[Any] = []
        self.status = status
        self._arrived = threading.Condition()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recorder._arrived:
                    recorder.events.append(json.loads(body))
                    recorder._arrived.notify_all()
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/page"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Any]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.events) >= count, timeout_s)
            return list(self.events)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    yield recorder
    recorder.close()
