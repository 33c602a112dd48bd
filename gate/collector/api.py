"""The device API of spec/upload.md as Django views (every ``/v1/`` request is signed).

==========================  ==================================================================
``POST /v1/scans``          ``{"batch_id", "records": [RECORD, ...]}``, optionally
                            ``Content-Encoding: gzip``. 200 ``{"accepted": [...],
                            "duplicates": [...], "rejected": [{"id", "error"}]}``: every distinct
                            id sent is in exactly one list, echoed as sent. An id already held
                            for another device is rejected with ``id_conflict``.
``POST /v1/alerts``         the same batch body (or one bare RECORD, the first version); the
                            same answer. A record newly held as an alert, on either path (a
                            hold, a refer, a red code), is logged and POSTed to the webhook.
``POST /v1/heartbeat``      the gate's health; 200 ``{"ok": true, "server_time": N}``; the
                            latest per device is kept with its arrival time, replaced only by
                            one whose signed ``X-Gate-Timestamp`` is newer (a replay is
                            answered 200 and not stored).
``GET /v1/trustlist``       the trust list bytes, ``X-Signature``, ``ETag``; 304 on a match.
``GET /v1/statuslist``      ``?since=N``: a delta, the full list or 304 (see `lists`).
``GET /v1/bulletin``        ``?since=N``: the bulletin in force or 304; 404 ``no_bulletin``.
``GET /healthz``            200 ``{"ok": true}`` when the database answers, else 503.
``GET /``                   redirect to the console.
==========================  ==================================================================

Status codes and JSON error bodies (``{"error": ...}``):

- 400 ``bad_json`` (with ``"reason"``) / ``bad_batch`` / ``bad_gzip`` / ``bad_query`` /
  ``unsupported_encoding`` / ``bad_heartbeat`` / ``bad_text`` (a heartbeat string that is not
  valid Unicode; in a batch, such a record is rejected with ``bad_text``)
- 401 ``unknown_device`` (also: headers missing, or an id outside the gate's id alphabet), ``bad_signature`` (also: timestamp not an
  integer), ``clock`` with ``"server_time": N`` when the signed timestamp is more than
  600 s from the collector's clock (checked after the signature)
- 403 ``device_disabled`` (a valid signature from a device marked disabled)
- 404 ``not_found``, ``no_trustlist``, ``no_statuslist``, ``no_bulletin``;
  405 ``method_not_allowed`` with ``Allow``
- 411 ``length_required`` (a POST without Content-Length)
- 413 ``too_large`` with ``max_records`` and ``max_bytes``: more than `MAX_RECORDS` records, or a
  body over `MAX_BODY_BYTES` on the wire or once decompressed (the gzip stream is inflated with a
  cap, so a gzip bomb costs at most `MAX_BODY_BYTES` of memory)
- 503 ``database_unavailable`` with ``Retry-After: 5``

Checks run in this order: device known (401), body size (413), signature (401),
enabled (403), clock (401), then the body.
"""

from __future__ import annotations

import functools
import json
import math
import logging
import threading
import zlib
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from django.db import (DatabaseError, IntegrityError, InterfaceError, OperationalError,
                       connections, transaction)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from gate import devicesig
from gate.collector import django_db, ingest, runtime
from gate.collector.lists import ListNotFound, ListsDirectory, SignedDocument
from gate.collector.models import Device, Heartbeat
from gate.collector.records import (RecordError, RecordRow, ScanWindow, check_record,
                                    has_bad_text, may_hold_bad_text, record_id)
from gate.ids import is_id

log = logging.getLogger("gate.collector")

from gate.collector import MAX_BODY_BYTES, MAX_RECORDS
from gate.errors import GateError

MAX_HEARTBEAT_BYTES = 64 * 1024
RETRY_AFTER_S = 5

_UNAVAILABLE = (OperationalError, InterfaceError)


class HTTPError(GateError):
    """An answer other than 200, raised from deep inside a view."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **extra}
        self.headers = headers or {}


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # an id echoed as sent holds a lone surrogate: escape it
        body = json.dumps(obj, separators=(",", ":")).encode("ascii")
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unavailable() -> HttpResponse:
    return _json(503, {"error": "database_unavailable"}, {"Retry-After": str(RETRY_AFTER_S)})


class DatabaseUnavailableMiddleware:
    """Answers 503 with ``Retry-After`` when the database is away, for every view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except _UNAVAILABLE as exc:
            log.warning("database unavailable: %s", exc)
            return unavailable()

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, _UNAVAILABLE):
            log.warning("database unavailable: %s", exc)
            return unavailable()
        return None


class ContentLengthMiddleware:
    """Every complete answer carries Content-Length (as before Django), except 304 and 204; a
    HEAD answer carries the GET answer's Content-Length and no body (waitress sends what the
    application gives, and a body after a HEAD answer corrupts the next answer on the connection)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (not response.streaming and response.status_code not in (204, 304)
                and not response.has_header("Content-Length")):
            response["Content-Length"] = str(len(response.content))
        if request.method == "HEAD" and not response.streaming:
            length = response.get("Content-Length")
            response.content = b""
            if length is not None:
                response["Content-Length"] = length
        return response


def device_api(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A device API view: `methods` allowed (HEAD as GET), HTTPError and database errors answered."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapped(request: HttpRequest) -> HttpResponse:
            method = "GET" if request.method == "HEAD" else request.method
            try:
                if method not in methods:
                    raise HTTPError(405, "method_not_allowed", {"Allow": ", ".join(methods)})
                return view(request)
            except HTTPError as exc:
                return _json(exc.status, exc.body, exc.headers)
            except _UNAVAILABLE as exc:
                log.warning("database unavailable: %s", exc)
                return unavailable()

        return wrapped

    return decorator


# --- bodies --------------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one too large to be finite (1e999) is refused like Infinity is."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise HTTPError(400, "bad_json", reason="nested too deeply") from exc
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


def _read_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    if request.method in ("GET", "HEAD"):
        return b""
    length_text = request.META.get("CONTENT_LENGTH") or ""
    if not length_text:
        raise HTTPError(411, "length_required")
    try:
        length = int(length_text)
    except ValueError as exc:
        raise HTTPError(400, "bad_batch") from exc
    if length > limit:
        raise _too_large()
    chunks, remaining = [], length
    while remaining > 0:
        chunk = request.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _inflated(request: HttpRequest, body: bytes) -> bytes:
    encoding = (request.META.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(body)
    if encoding != "identity":
        raise HTTPError(400, "unsupported_encoding")
    return body


def _decoded(request: HttpRequest, body: bytes) -> Any:
    return _loads(_inflated(request, body))


# --- authentication ------------------------------------------------------------------------------

_keys: dict[str, Any] = {}
_keys_lock = threading.Lock()


def _public_key(b64: str) -> Any:
    with _keys_lock:
        key = _keys.get(b64)
    if key is None:
        key = devicesig.load_public_key(b64)
        with _keys_lock:
            if len(_keys) > 100_000:
                _keys.clear()
            _keys[b64] = key
    return key


def _request_target(request: HttpRequest) -> str:
    meta = request.META
    raw = meta.get("REQUEST_URI") or meta.get("RAW_URI")
    if raw:
        if not raw.startswith("/"):  # absolute-form target: keep path and query
            parts = urlsplit(raw)
            raw = parts.path + (f"?{parts.query}" if parts.query else "")
        return raw
    target = meta.get("SCRIPT_NAME", "") + meta.get("PATH_INFO", "")
    query = meta.get("QUERY_STRING")
    return f"{target}?{query}" if query else target


def authenticate(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> tuple[str, bytes]:
    """The signing device's id and the raw body; HTTPError for every refusal (module docstring)."""
    device_id = request.META.get("HTTP_X_GATE_DEVICE", "")
    device = (Device.objects.filter(pk=device_id).values_list("public_key", "enabled").first()
              if is_id(device_id) else None)
    if device is None:
        raise HTTPError(401, "unknown_device")
    public_key_b64, enabled = device
    body = _read_body(request, limit)
    try:
        timestamp = int(request.META.get("HTTP_X_GATE_TIMESTAMP", ""))
    except ValueError as exc:
        raise HTTPError(401, "bad_signature") from exc
    try:
        public_key = _public_key(public_key_b64)
    except ValueError as exc:
        log.error("device %s has an unusable public key: %s", device_id, exc)
        raise HTTPError(401, "bad_signature") from exc
    ok = devicesig.verify_signature(
        public_key, request.method or "GET", _request_target(request), timestamp, body,
        request.META.get("HTTP_X_GATE_SIGNATURE", ""),
    )
    if not ok:
        raise HTTPError(401, "bad_signature")
    if not enabled:
        raise HTTPError(403, "device_disabled")
    now = runtime.current().clock()
    if abs(timestamp - now) > devicesig.MAX_CLOCK_SKEW_S:
        raise HTTPError(401, "clock", server_time=int(now))
    return device_id, body


# --- uploads -------------------------------------------------------------------------------------

def _store(device_id: str, records: list[Any], alerts: bool,
           text_possible: bool = True) -> tuple[dict[str, Any], list[Any]]:
    """Check and store `records`; the answer and, for alerts, the records newly alerted."""
    rt = runtime.current()
    if len(records) > MAX_RECORDS:
        raise _too_large()
    received_at = rt.clock()
    window = ScanWindow.around(received_at, rt.retention_days)
    rows: list[RecordRow] = []
    sent: dict[str, tuple[Any, Any]] = {}  # stored key -> (id as sent, record)
    rejected: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in records:
        rid = record_id(record)
        if isinstance(rid, str):
            if rid.lower() in seen:
                continue  # the same id twice in one batch: answered once
            seen.add(rid.lower())
        try:
            row = check_record(record, device_id, received_at, text_possible, window)
        except RecordError as exc:
            rejected.append({"id": rid, "error": exc.code})
            continue
        rows.append(row)
        sent[row.id] = (rid, record)
    stored = ingest.store_records(rows, django_db.current_alias(), alerts=alerts, window=window)
    answer = {
        "accepted": [sent[r.id][0] for r in rows if r.id in stored.new],
        "duplicates": [sent[r.id][0] for r in rows
                       if r.id not in stored.new and r.id not in stored.conflicts],
        "rejected": rejected + [{"id": sent[r.id][0], "error": "id_conflict"}
                                for r in rows if r.id in stored.conflicts],
    }
    paged = [sent[r.id][1] for r in rows if r.id in stored.new_alerts]
    if paged:
        for record in paged:
            rt.notifier.notify({"received_at": received_at, "device_id": device_id,
                                "record": record})
    return answer, paged


@device_api("POST")
def post_scans(request: HttpRequest) -> HttpResponse:
    device_id, body = authenticate(request)
    text = _inflated(request, body)
    batch = _loads(text)
    if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
        raise HTTPError(400, "bad_batch")
    answer, _ = _store(device_id, batch["records"], alerts=False,
                       text_possible=may_hold_bad_text(text))
    return _json(200, answer)


@device_api("POST")
def post_alerts(request: HttpRequest) -> HttpResponse:
    device_id, body = authenticate(request)
    document = _decoded(request, body)
    if isinstance(document, dict) and "records" in document:
        if not isinstance(document["records"], list):
            raise HTTPError(400, "bad_batch")  # a batch body whose records are not a list
        records = document["records"]
    else:
        records = [document]  # the first version: one bare RECORD
    answer, _ = _store(device_id, records, alerts=True)
    return _json(200, answer)


@device_api("POST")
def post_heartbeat(request: HttpRequest) -> HttpResponse:
    device_id, body = authenticate(request, MAX_HEARTBEAT_BYTES)
    beat = _decoded(request, body)
    if not isinstance(beat, dict):
        raise HTTPError(400, "bad_heartbeat", reason="not an object")
    if beat.get("device_id", device_id) != device_id:
        raise HTTPError(400, "bad_heartbeat", reason="device_id is not the signing device")
    text = json.dumps(beat, ensure_ascii=False)
    if has_bad_text(text):
        raise HTTPError(400, "bad_text", reason="a string is not valid Unicode (a lone surrogate)")
    if "\\u0000" in text:
        raise HTTPError(400, "bad_heartbeat", reason="holds U+0000")
    now = runtime.current().clock()
    store_heartbeat(device_id, beat, signed_at=signed_timestamp(request), received_at=now)
    return _json(200, {"ok": True, "server_time": int(now)})


def signed_timestamp(request: HttpRequest) -> int:
    """The ``X-Gate-Timestamp`` of a request `authenticate` accepted (so it is an integer)."""
    return int(request.META["HTTP_X_GATE_TIMESTAMP"])


def store_heartbeat(device_id: str, beat: dict[str, Any], signed_at: int,
                    received_at: float) -> bool:
    """Keep `beat` as the device's latest heartbeat when it was signed later than the one held.

    False when it is not newer (a replay, or two sent in one second): nothing is changed. The
    comparison is made by the database in the write itself, so two collector processes taking
    heartbeats of one gate at once keep the newer.
    """
    arrived = datetime.fromtimestamp(received_at, timezone.utc)
    alias = django_db.current_alias()
    for _ in range(2):
        if Heartbeat.objects.filter(device_id=device_id, signed_at__lt=signed_at).update(
                received_at=arrived, signed_at=signed_at, data=beat):
            return True
        if Heartbeat.objects.filter(device_id=device_id).exists():
            return False
        try:
            with transaction.atomic(using=alias):
                Heartbeat.objects.create(device_id=device_id, received_at=arrived,
                                         signed_at=signed_at, data=beat)
            return True
        except IntegrityError:
            continue  # another process stored its first heartbeat meanwhile: compare with it
    return False


# --- lists ---------------------------------------------------------------------------------------

def _signed(request: HttpRequest, doc: SignedDocument) -> HttpResponse:
    etag = '"' + hex(zlib.crc32(doc.body))[2:] + "-" + str(len(doc.body)) + '"'
    headers = {"X-Signature": doc.signature, "ETag": etag, "Cache-Control": "no-cache"}
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(doc.body, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


def _since(request: HttpRequest) -> int:
    values = request.GET.getlist("since") or ["0"]
    try:
        since = int(values[-1] or "0")
    except ValueError as exc:
        raise HTTPError(400, "bad_query") from exc
    if since < 0:
        raise HTTPError(400, "bad_query")
    return since


@device_api("GET")
def get_trustlist(request: HttpRequest) -> HttpResponse:
    authenticate(request)
    try:
        doc = runtime.current().lists.trustlist()
    except ListNotFound as exc:
        raise HTTPError(404, "no_trustlist") from exc
    return _signed(request, doc)


@device_api("GET")
def get_statuslist(request: HttpRequest) -> HttpResponse:
    return _newer_than_since(request, lambda lists, since: lists.statuslist_since(since), "no_statuslist")


@device_api("GET")
def get_bulletin(request: HttpRequest) -> HttpResponse:
    return _newer_than_since(request, lambda lists, since: lists.bulletin_since(since), "no_bulletin")


def _newer_than_since(request: HttpRequest, newer: Callable[[ListsDirectory, int], SignedDocument | None],
                      missing: str) -> HttpResponse:
    """A signed list newer than `?since=N`: 200 with its signature, 304 when none is newer, 404 `missing`."""
    authenticate(request)
    since = _since(request)
    try:
        doc = newer(runtime.current().lists, since)
    except ListNotFound as exc:
        raise HTTPError(404, missing) from exc
    if doc is None:
        return HttpResponse(status=304)
    return _signed(request, doc)


# --- people --------------------------------------------------------------------------------------

@device_api("GET")
def healthz(request: HttpRequest) -> HttpResponse:
    with connections[django_db.current_alias()].cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return _json(200, {"ok": True})


@device_api("GET")
def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/console/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _json(404, {"error": "not_found"})


def server_error(request: HttpRequest) -> HttpResponse:
    return _json(500, {"error": "internal_error"})


__all__ = ["MAX_BODY_BYTES", "MAX_RECORDS", "DatabaseError", "HTTPError", "authenticate"]
