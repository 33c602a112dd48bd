"""The collector as a plain WSGI application (spec/upload.md), served by waitress.

Endpoints (every ``/v1/`` request is signed, see `gate.devicesig`):

==========================  ==================================================================
``POST /v1/scans``          ``{"batch_id", "records": [RECORD, ...]}``, optionally
                            ``Content-Encoding: gzip``. 200 ``{"accepted": [...],
                            "duplicates": [...], "rejected": [{"id", "error"}]}``: every distinct
                            id sent is in exactly one list, echoed as sent.
``POST /v1/alerts``         the batch body of ``/v1/scans`` (or one bare RECORD, the first
                            version); the same answer. A newly seen alert is written to the
                            alert log and POSTed to the webhook.
``POST /v1/heartbeat``      the gate's health (upload.md); the latest of each device is kept
                            with its arrival time. 200 ``{"ok": true, "server_time": N}``.
``GET /v1/trustlist``       the trust list bytes, ``X-Signature``, ``ETag``.
``GET /v1/statuslist``      ``?since=N``: a delta, the full list or 304 (see `lists`).
``GET /`` or ``/status``    a read-only HTML page: recent alerts, per-gate counts by hour.
``GET /healthz``            200 ``{"ok": true}`` when the database answers, else 503.
==========================  ==================================================================

Status codes and JSON error bodies (``{"error": ...}``):

- 400 ``bad_json`` / ``bad_batch`` / ``bad_gzip`` / ``bad_query`` / ``unsupported_encoding`` /
  ``bad_heartbeat`` (not an object) / ``device_mismatch`` (a heartbeat naming another device)
- 401 ``unknown_device`` (also: headers missing), ``bad_signature`` (also: timestamp not an
  integer), ``clock`` with ``"server_time": N`` when the signed timestamp is more than
  600 s from the collector's clock (checked after the signature)
- 403 ``device_disabled`` (a valid signature from a device marked disabled)
- 404 ``not_found``, ``no_trustlist``, ``no_statuslist``; 405 ``method_not_allowed``
- 411 ``length_required`` (a POST without Content-Length)
- 413 ``too_large`` with ``max_records`` and ``max_bytes``: more than `MAX_RECORDS` records, or a
  body over `MAX_BODY_BYTES` on the wire or once decompressed (the gzip stream is inflated with a
  cap, so a gzip bomb costs at most `MAX_BODY_BYTES` of memory)
- 503 ``database_unavailable`` with ``Retry-After: 5``

Checks run in this order: device known (401), body size (413), signature (401),
enabled (403), clock (401), then the body.
"""

from __future__ import annotations

import html
import json
import logging
import time
import zlib
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from gate import devicesig
from gate.collector.alerts import AlertNotifier
from gate.collector.db import Database, DatabaseUnavailable, RecordRow, open_database
from gate.collector.lists import ListNotFound, ListsDirectory, SignedDocument
from gate.collector.records import RecordError, check_record, record_id
from gate.errors import GateError

log = logging.getLogger("gate.collector")

MAX_RECORDS = 2000
MAX_BODY_BYTES = 8 * 1024 * 1024
RETRY_AFTER_S = 5
STATUS_PAGE_HOURS = 24

_REASONS = {
    200: "OK", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
    413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
}

StartResponse = Callable[..., Any]


class HTTPError(GateError):
    """An answer other than 200, raised from deep inside a handler."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **extra}
        self.headers: list[tuple[str, str]] = []


class Response:
    """Status, headers and body bytes of one answer."""

    def __init__(self, status: int, body: bytes = b"", content_type: str | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    @classmethod
    def json(cls, status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> "Response":
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, "application/json", headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPError(400, "bad_json") from exc


def _too_large() -> HTTPError:
    return HTTPError(413, "too_large", max_records=MAX_RECORDS, max_bytes=MAX_BODY_BYTES)


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise HTTPError(400, "bad_gzip") from exc
    if len(out) > MAX_BODY_BYTES:
        raise _too_large()
    if not inflater.eof:
        raise HTTPError(400, "bad_gzip")
    return out


class CollectorApp:
    """The WSGI callable; build it with `create_app`."""

    def __init__(self, db: Database, lists: ListsDirectory, notifier: AlertNotifier,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.lists = lists
        self.notifier = notifier
        self.clock = clock
        self._routes: dict[str, dict[str, Callable[[dict[str, Any]], Response]]] = {
            "/v1/scans": {"POST": self._post_scans},
            "/v1/alerts": {"POST": self._post_alert},
            "/v1/heartbeat": {"POST": self._post_heartbeat},
            "/v1/trustlist": {"GET": self._get_trustlist},
            "/v1/statuslist": {"GET": self._get_statuslist},
            "/": {"GET": self._status_page},
            "/status": {"GET": self._status_page},
            "/healthz": {"GET": self._healthz},
        }

    def close(self) -> None:
        """Finish pending webhook posts and close the database."""
        self.notifier.close()
        self.db.close()

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            response = self._dispatch(environ)
        except HTTPError as exc:
            response = Response.json(exc.status, exc.body, exc.headers)
        except DatabaseUnavailable as exc:
            log.warning("database unavailable: %s", exc)
            response = Response.json(503, {"error": "database_unavailable"},
                                     [("Retry-After", str(RETRY_AFTER_S))])
        head = environ.get("REQUEST_METHOD") == "HEAD"
        headers = response.headers + [("Content-Length", str(len(response.body)))]
        if response.status == 304:
            headers = [h for h in headers if h[0] != "Content-Length"]
        start_response(f"{response.status} {_REASONS.get(response.status, '')}".strip(), headers)
        return [] if head or response.status == 304 else [response.body]

    def _dispatch(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO") or "/"
        methods = self._routes.get(path)
        if methods is None:
            raise HTTPError(404, "not_found")
        method = environ.get("REQUEST_METHOD", "GET")
        handler = methods.get("GET" if method == "HEAD" else method)
        if handler is None:
            error = HTTPError(405, "method_not_allowed")
            error.headers.append(("Allow", ", ".join(methods)))
            raise error
        return handler(environ)

    # --- authentication -----------------------------------------------------------------

    @staticmethod
    def _request_target(environ: dict[str, Any]) -> str:
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if raw:
            if not raw.startswith("/"):  # absolute-form target: keep path and query
                parts = urlsplit(raw)
                raw = parts.path + (f"?{parts.query}" if parts.query else "")
            return raw
        target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        return f"{target}?{query}" if query else target

    def _authenticate(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        """The signing device's id and the raw body; HTTPError for every refusal."""
        device_id = environ.get("HTTP_X_GATE_DEVICE", "")
        device = self.db.device(device_id) if device_id else None
        if device is None:
            raise HTTPError(401, "unknown_device")
        body = self._read_body(environ)
        try:
            timestamp = int(environ.get("HTTP_X_GATE_TIMESTAMP", ""))
        except ValueError as exc:
            raise HTTPError(401, "bad_signature") from exc
        try:
            public_key = devicesig.load_public_key(device.public_key)
        except ValueError as exc:
            log.error("device %s has an unusable public key: %s", device_id, exc)
            raise HTTPError(401, "bad_signature") from exc
        ok = devicesig.verify_signature(
            public_key, environ.get("REQUEST_METHOD", "GET"), self._request_target(environ),
            timestamp, body, environ.get("HTTP_X_GATE_SIGNATURE", ""),
        )
        if not ok:
            raise HTTPError(401, "bad_signature")
        if not device.enabled:
            raise HTTPError(403, "device_disabled")
        now = self.clock()
        if abs(timestamp - now) > devicesig.MAX_CLOCK_SKEW_S:
            raise HTTPError(401, "clock", server_time=int(now))
        return device_id, body

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return b""
        length_text = environ.get("CONTENT_LENGTH") or ""
        if not length_text:
            raise HTTPError(411, "length_required")
        try:
            length = int(length_text)
        except ValueError as exc:
            raise HTTPError(400, "bad_batch") from exc
        if length > MAX_BODY_BYTES:
            raise _too_large()
        stream = environ["wsgi.input"]
        chunks, remaining = [], length
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _decoded(environ: dict[str, Any], body: bytes) -> Any:
        encoding = (environ.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
        if encoding == "gzip":
            body = _gunzip(body)
        elif encoding != "identity":
            raise HTTPError(400, "unsupported_encoding")
        return _loads(body)

    # --- uploads ----------------------------------------------------------------------------

    def _post_scans(self, environ: dict[str, Any]) -> Response:
        device_id, body = self._authenticate(environ)
        batch = self._decoded(environ, body)
        if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
            raise HTTPError(400, "bad_batch")
        records = batch["records"]
        if len(records) > MAX_RECORDS:
            raise _too_large()
        received_at = self.clock()
        rows: list[RecordRow] = []
        sent_as: dict[str, Any] = {}  # stored key -> id as the gate sent it
        rejected: list[dict[str, Any]] = []
        seen: set[str] = set()
        for record in records:
            rid = record_id(record)
            if isinstance(rid, str):
                if rid.lower() in seen:
                    continue  # the same id twice in one batch: answered once
                seen.add(rid.lower())
            try:
                row = check_record(record, device_id, received_at)
            except RecordError as exc:
                rejected.append({"id": rid, "error": exc.code})
                continue
            rows.append(row)
            sent_as[row.id] = rid
        new = self.db.store_records(rows)
        answer = {
            "accepted": [sent_as[r.id] for r in rows if r.id in new],
            "duplicates": [sent_as[r.id] for r in rows if r.id not in new],
            "rejected": rejected,
        }
        return Response.json(200, answer)

    def _post_alert(self, environ: dict[str, Any]) -> Response:
        device_id, body = self._authenticate(environ)
        doc = self._decoded(environ, body)
        if isinstance(doc, dict) and "records" in doc:
            records = doc["records"]
            if not isinstance(records, list):
                raise HTTPError(400, "bad_batch")
        else:
            records = [doc]  # one bare RECORD: the first version of the protocol
        if len(records) > MAX_RECORDS:
            raise _too_large()
        received_at = self.clock()
        answer: dict[str, list[Any]] = {"accepted": [], "duplicates": [], "rejected": []}
        seen: set[str] = set()
        for record in records:
            rid = record_id(record)
            if isinstance(rid, str):
                if rid.lower() in seen:
                    continue
                seen.add(rid.lower())
            try:
                row = check_record(record, device_id, received_at)
            except RecordError as exc:
                answer["rejected"].append({"id": rid, "error": exc.code})
                continue
            record_new, alert_new = self.db.store_alert(row)
            if alert_new:
                self.notifier.notify({"received_at": received_at, "device_id": device_id,
                                      "record": record})
            answer["accepted" if record_new else "duplicates"].append(rid)
        return Response.json(200, answer)

    def _post_heartbeat(self, environ: dict[str, Any]) -> Response:
        device_id, body = self._authenticate(environ)
        heartbeat = self._decoded(environ, body)
        if not isinstance(heartbeat, dict):
            raise HTTPError(400, "bad_heartbeat")
        if heartbeat.get("device_id", device_id) != device_id:
            raise HTTPError(400, "device_mismatch")
        now = self.clock()
        self.db.store_heartbeat(device_id, now, json.dumps(heartbeat, ensure_ascii=False))
        return Response.json(200, {"ok": True, "server_time": int(now)})

    # --- lists ------------------------------------------------------------------------------

    @staticmethod
    def _signed(environ: dict[str, Any], doc: SignedDocument) -> Response:
        etag = '"' + hex(zlib.crc32(doc.body))[2:] + "-" + str(len(doc.body)) + '"'
        headers = [("X-Signature", doc.signature), ("ETag", etag), ("Cache-Control", "no-cache")]
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            return Response(304, headers=headers)
        return Response(200, doc.body, "application/json", headers)

    def _get_trustlist(self, environ: dict[str, Any]) -> Response:
        self._authenticate(environ)
        try:
            doc = self.lists.trustlist()
        except ListNotFound as exc:
            raise HTTPError(404, "no_trustlist") from exc
        return self._signed(environ, doc)

    def _get_statuslist(self, environ: dict[str, Any]) -> Response:
        self._authenticate(environ)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        since_values = query.get("since", ["0"])
        try:
            since = int(since_values[-1] or "0")
        except ValueError as exc:
            raise HTTPError(400, "bad_query") from exc
        if since < 0:
            raise HTTPError(400, "bad_query")
        try:
            doc = self.lists.statuslist_since(since)
        except ListNotFound as exc:
            raise HTTPError(404, "no_statuslist") from exc
        if doc is None:
            return Response(304)
        return self._signed(environ, doc)

    # --- people -----------------------------------------------------------------------------

    def _healthz(self, environ: dict[str, Any]) -> Response:
        self.db.ping()
        return Response.json(200, {"ok": True})

    def _status_page(self, environ: dict[str, Any]) -> Response:
        now = self.clock()
        since = datetime.fromtimestamp(now - STATUS_PAGE_HOURS * 3600, timezone.utc)
        alerts = self.db.recent_alerts(50)
        counts = self.db.hourly_counts(since.strftime("%Y-%m-%dT%H"))
        body = render_status_page(now, alerts, counts, self.db.count_records())
        return Response(200, body.encode("utf-8"), "text/html; charset=utf-8",
                        [("Cache-Control", "no-store")])


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def render_status_page(now: float, alerts: list[Any], counts: list[Any], total: int) -> str:
    """The read-only status page: recent alerts and per-gate scan counts by hour (UTC)."""
    e = html.escape
    alert_rows = "".join(
        ("<tr>" + "<td>{}</td>" * 7 + "</tr>").format(
            e(_utc(a.received_at)), e(a.device_id), e(str(a.record.get("venue_id", ""))),
            e(a.scanned_at), e(a.decision),
            e(str((a.record.get("code") or {}).get("status") or "")),
            e(", ".join(str(r) for r in a.record.get("decision_reasons") or [])),
        )
        for a in alerts
    ) or '<tr><td colspan="7">No alerts.</td></tr>'
    count_rows = "".join(
        f"<tr><td>{e(c.device_id)}</td><td>{e(c.hour.replace('T', ' '))}:00</td>"
        f"<td>{c.total}</td><td>{c.not_allowed}</td></tr>"
        for c in counts
    ) or '<tr><td colspan="4">No scans in this period.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>Gate collector</title>
<style>body{{font-family:sans-serif;margin:1.5em}}
table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}th{{background:#eee}}</style>
</head><body>
<h1>Gate collector</h1>
<p>{e(_utc(now))} UTC &middot; {total} records stored</p>
<h2>Recent alerts</h2>
<table><tr><th>Received (UTC)</th><th>Gate</th><th>Venue</th><th>Scanned at</th><th>Decision</th>
<th>Code</th><th>Reasons</th></tr>
{alert_rows}</table>
<h2>Scans per gate by hour (last {STATUS_PAGE_HOURS} h, UTC)</h2>
<table><tr><th>Gate</th><th>Hour</th><th>Scans</th><th>Not allowed</th></tr>
{count_rows}</table>
</body></html>
"""


def create_app(
    db_url: str,
    lists_dir: str | Any,
    alert_log: str | Any | None = None,
    webhook_url: str | None = None,
    clock: Callable[[], float] = time.time,
) -> CollectorApp:
    """The collector WSGI application over the database at `db_url` and the lists in `lists_dir`.

    `alert_log`: a JSON-lines file new alerts are appended to; `webhook_url`: where new alerts are
    POSTed; `clock`: unix time now (injected by tests). The schema is created on open.
    """
    return CollectorApp(open_database(db_url), ListsDirectory(lists_dir),
                        AlertNotifier(alert_log, webhook_url), clock)
