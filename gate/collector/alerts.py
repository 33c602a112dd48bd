"""Passing alerts on to people: a JSON-lines log and an optional webhook for paging.

Each new alert (a record first held as an alert, whether it came on ``POST /v1/alerts`` or only in
a batch on ``POST /v1/scans``: `gate.collector.ingest`) becomes one line in the alert log::

    {"received_at": 1764003600.2, "device_id": "gate-nc-0001", "record": {...RECORD...}}

and, when a webhook URL is configured, the same object is POSTed there as JSON by a background
thread with a short timeout, so a slow or broken pager never delays or breaks a gate's upload.
A failed POST is logged (logger ``gate.collector.alerts``) and not retried; the alert log and
the database hold the alert regardless.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from typing import Any

import requests

log = logging.getLogger("gate.collector.alerts")

WEBHOOK_TIMEOUT_S = 3.0


class AlertNotifier:
    """Writes alerts to `alert_log` (path or None) and POSTs them to `webhook_url` (or None)."""

    def __init__(
        self,
        alert_log: str | os.PathLike[str] | None = None,
        webhook_url: str | None = None,
        timeout_s: float = WEBHOOK_TIMEOUT_S,
    ) -> None:
        self.alert_log = alert_log
        self.webhook_url = webhook_url
        self.timeout_s = timeout_s
        self._log_lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=10_000)
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

    def notify(self, event: dict[str, Any]) -> None:
        """Log `event` and queue it for the webhook; never raises for a delivery problem."""
        if self.alert_log is not None:
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
            try:
                with self._log_lock, open(self.alert_log, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
            except OSError as exc:
                log.error("cannot write the alert log %s: %s", self.alert_log, exc)
        if self.webhook_url is not None:
            self._ensure_worker()
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                log.error("webhook queue full; alert %s not paged",
                          event.get("record", {}).get("id"))

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="alert-webhook", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        session = requests.Session()
        try:
            while True:
                event = self._queue.get()
                if event is None:
                    return
                self._post(session, event)
        finally:
            session.close()

    def _post(self, session: requests.Session, event: dict[str, Any]) -> None:
        assert self.webhook_url is not None
        try:
            response = session.post(self.webhook_url, json=event, timeout=self.timeout_s)
        except requests.RequestException as exc:
            log.warning("alert webhook %s failed: %s", self.webhook_url, exc)
            return
        if response.status_code >= 300:
            log.warning(
                "alert webhook %s answered %s", self.webhook_url, response.status_code
            )

    def close(self, timeout_s: float = 5.0) -> None:
        """Let queued webhook posts finish (up to `timeout_s`) and stop the worker."""
        with self._worker_lock:
            worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join(timeout_s)
