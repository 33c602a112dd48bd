"""The running kiosk's local control channel, for the setup service (spec/setup.md).

The kiosk owns the hardware (GPIO pins and the camera cannot be opened twice), so the setup page
asks the kiosk: pulse the relay, cycle the lights, sound the buzzer, read the thermometer, hand
over the newest camera frame, reload the configuration. The channel listens on 127.0.0.1 only,
on a free port, and every request must carry the secret the kiosk wrote at start into
`control.json` in its runtime folder (/run/gate, gone at every boot; mode 0640, group gate):
`{"url": ..., "token": ..., "pid": ...}`. Nothing else on the machine, and nothing on the
network, can reach it.

A test of an output is refused (409) while a person's scan is being decided or shown, and a
person's scan that comes meanwhile waits for the few milliseconds a test takes: none is lost.
A thermometer reading only waits for the scan in hand (a few milliseconds; a reading changes
nothing a person sees), so it works on a busy gate too. In service mode (spec/setup.md: the
technician took the gate out of service, `POST /control/service`) no scan is decided, and the tests
and the thermometer are always allowed.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import requests

from gate.webserver import ThreadedServer
from gate.errors import GateError

log = logging.getLogger(__name__)

RUNTIME_DIR_ENV = "GATE_RUNTIME_DIR"
DEFAULT_RUNTIME_DIR = "/run/gate"
CONTROL_FILE = "control.json"
TOKEN_HEADER = "X-Gate-Control"
LIGHT_STEP_S = 0.6
DECIDING_WAIT_S = 1.0  # how long the hardware is waited for while a scan is in hand (it takes ms)
MAX_BODY = 4096
BUSY = ("a person's scan is being decided or shown; try again in a few seconds, "
        "or turn on service mode to test now")
PARTS: tuple[str, ...] = ("relay", "lights", "buzzer")


def runtime_dir() -> Path:
    """Where the kiosk writes control.json: $GATE_RUNTIME_DIR, else /run/gate (systemd's RuntimeDirectory)."""
    return Path(os.environ.get(RUNTIME_DIR_ENV) or DEFAULT_RUNTIME_DIR)


class Busy(GateError):
    """A person's scan is being decided or shown: the hardware is not the technician's now."""


class KioskControl:
    """The kiosk's side: a WSGI app on 127.0.0.1 that acts on one running Kiosk."""

    def __init__(self, kiosk: Any, folder: str | Path | None = None, port: int = 0) -> None:
        self.kiosk = kiosk
        self.folder = Path(folder) if folder is not None else runtime_dir()
        self.token = secrets.token_urlsafe(32)
        self._http = ThreadedServer(self, "127.0.0.1", port, name="control", threads=4, ident="gate-control")
        self._lights_thread: threading.Thread | None = None

    @property
    def file(self) -> Path:
        return self.folder / CONTROL_FILE

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def start(self) -> "KioskControl":
        """Listen and write control.json (OSError when neither can be done)."""
        self._http.start()
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{CONTROL_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as f:
            json.dump({"url": self.url, "token": self.token, "pid": os.getpid()}, f)
        os.replace(tmp, self.file)
        return self

    def stop(self) -> None:
        """Stop listening and remove control.json (if it is still ours); safe to call twice."""
        try:
            if json.loads(self.file.read_text()).get("token") == self.token:
                self.file.unlink()
        except (OSError, ValueError):
            pass
        self._http.stop()

    # -- what the kiosk does for the setup page ---------------------------------------------

    def busy(self) -> bool:
        """True while a person's decision is being made or shown, or the gate is open for one
        (never in service mode, where no person's scan is decided)."""
        k = self.kiosk
        return not k.service.on and (k.showing() or k.pipeline.body.relay_open)

    def _with_hardware(self, action: Callable[[], Any], *, outputs: bool = True) -> Any:
        """Run `action` between two scans: the scan in hand (if any) is waited for; with `outputs`
        (the relay, lights, buzzer a person is reading) also refused while a decision is on show,
        unless the gate is in service mode."""
        if not self.kiosk.deciding.acquire(timeout=DECIDING_WAIT_S):
            raise Busy(BUSY)
        try:
            if outputs and self.busy():
                raise Busy(BUSY)
            return action()
        finally:
            self.kiosk.deciding.release()

    def test(self, part: str) -> str:
        """Pulse the relay, start a light cycle or sound the buzzer once; what was done."""
        body = self.kiosk.pipeline.body
        if part == "relay":
            pulsed = self._with_hardware(body.pulse_relay)
            return "relay pulsed" if pulsed else "no relay fitted"
        if part == "buzzer":
            def beep() -> bool:
                if not body.buzzer.fitted:
                    return False
                body.buzzer.sound("short")
                return True
            return "buzzer sounded" if self._with_hardware(beep) else "no buzzer fitted"
        if part == "lights":
            self._with_hardware(lambda: None)
            colours = list(body.lights.fitted)
            if not colours:
                return "no lights fitted"
            self._lights_thread = threading.Thread(target=self._cycle, args=(colours,), daemon=True,
                                                   name="control-lights")
            self._lights_thread.start()
            return "lights cycling: " + ", ".join(colours)
        raise KeyError(part)

    def _cycle(self, colours: Iterable[str]) -> None:
        body = self.kiosk.pipeline.body
        for colour in colours:
            try:
                self._with_hardware(lambda c=colour: body.lights.show(c))
            except Busy:
                return  # a person came: the decision's light wins
            time.sleep(LIGHT_STEP_S)
        try:
            self._with_hardware(body.lights.off)
        except Busy:
            pass

    def thermometer(self) -> dict[str, Any]:
        """A fresh reading: raw object (before the offset), ambient, calibrated, the offset in force."""
        reading = self._with_hardware(self.kiosk.pipeline.thermometer.read, outputs=False)
        return {"object_c": reading.object_raw_c, "ambient_c": reading.ambient_c,
                "temperature_c": reading.temperature_c, "state": reading.state, "error": reading.error,
                "offset_c": self.kiosk.pipeline.config.temperature.offset_c,
                "sensor": self.kiosk.pipeline.config.temperature.sensor}

    def status(self) -> dict[str, Any]:
        k = self.kiosk
        reloader = k.reloader
        return {"pid": os.getpid(), "frames": k.stats.frames, "t": time.monotonic(), "busy": self.busy(),
                "faults": k.current_faults(), "scans": sum(k.stats.decisions.values()),
                "config_sha256": getattr(reloader, "config_sha256", None),
                "service": k.service.state().to_json(),
                "reload": reloader.last.to_json() if reloader is not None and reloader.last else None}

    def reload(self, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
        reloader = self.kiosk.reloader
        if reloader is None:
            return 503, {"error": "this kiosk cannot reload its configuration"}
        result = reloader.wait(reloader.request(), timeout)
        if result is None:
            return 202, {"pending": True}
        return 200, result.to_json()

    def service(self, asked: dict[str, Any]) -> dict[str, Any]:
        """Service mode on (or its lease renewed) for `lease_s`, or off with `why`; its state."""
        if asked.get("on") is True:
            lease = asked.get("lease_s")
            return self.kiosk.start_service(float(lease)) if isinstance(lease, (int, float)) \
                else self.kiosk.start_service()
        if asked.get("on") is False:
            return self.kiosk.end_service(str(asked.get("why") or "turned off from the setup page")[:200])
        raise ValueError('send {"on": true|false}')

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        given = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return _reply(start_response, 403, {"error": "no or wrong control token"})
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/control/status":
                return _reply(start_response, 200, self.status())
            if method == "GET" and path == "/control/frame.jpg":
                frame = self.kiosk.last_frame
                if frame is None:
                    return _reply(start_response, 404, {"error": "no camera frame yet"})
                ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
                body = jpeg.tobytes()
                start_response("200 OK", [("Content-Type", "image/jpeg"), ("Content-Length", str(len(body))),
                                          ("X-Frames", str(self.kiosk.stats.frames))])
                return [body]
            if method == "GET" and path == "/control/thermometer":
                return _reply(start_response, 200, self.thermometer())
            if method == "POST" and path.startswith("/control/test/") and path.rsplit("/", 1)[1] in PARTS:
                return _reply(start_response, 200, {"done": self.test(path.rsplit("/", 1)[1])})
            if method == "POST" and path == "/control/reload":
                status, body = self.reload()
                return _reply(start_response, status, body)
            if method == "POST" and path == "/control/service":
                return _reply(start_response, 200, self.service(_json_body(environ)))
        except Busy as exc:
            return _reply(start_response, 409, {"error": str(exc)})
        except ValueError as exc:
            return _reply(start_response, 400, {"error": str(exc)})
        return _reply(start_response, 404, {"error": f"no such control request: {method} {path}"})


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object (ValueError for anything else or more than MAX_BODY bytes)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValueError("a bad Content-Length") from None
    if not 0 < length <= MAX_BODY:
        raise ValueError("send a JSON object")
    body = json.loads(environ["wsgi.input"].read(length))
    if not isinstance(body, dict):
        raise ValueError("send a JSON object")
    return body


_STATUS = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
           409: "409 Conflict", 503: "503 Service Unavailable"}


def _reply(start_response: Callable[..., Any], status: int, obj: Any) -> list[bytes]:
    body = json.dumps(obj, ensure_ascii=False).encode()
    start_response(_STATUS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# ------------------------------------------------------------------------------------------------
# The setup service's side


class KioskUnavailable(GateError):
    """No kiosk is running (or it does not answer); str() says so in one line."""


class KioskClient:
    """Talks to the running kiosk through control.json; re-read on every call (a restarted kiosk
    has a new port and token)."""

    def __init__(self, folder: str | Path | None = None, timeout_s: float = 5.0) -> None:
        self.folder = Path(folder) if folder is not None else runtime_dir()
        self.timeout_s = timeout_s

    def _target(self) -> tuple[str, str]:
        try:
            info = json.loads((self.folder / CONTROL_FILE).read_text())
            return str(info["url"]), str(info["token"])
        except FileNotFoundError:
            raise KioskUnavailable("no kiosk is running (gate-kiosk.service is stopped)") from None
        except (OSError, ValueError, KeyError) as exc:
            raise KioskUnavailable(f"the kiosk's control file cannot be read: {exc}") from None

    def request(self, method: str, path: str, timeout: float | None = None,
                body: dict[str, Any] | None = None) -> requests.Response:
        url, token = self._target()
        try:
            answer = requests.request(method, url + path, headers={TOKEN_HEADER: token}, json=body,
                                      timeout=timeout or self.timeout_s)
        except requests.RequestException as exc:
            raise KioskUnavailable(f"the kiosk does not answer ({type(exc).__name__}); is it running?") from None
        if answer.status_code == 409:
            raise Busy(answer.json().get("error", "busy"))
        if answer.status_code == 403:
            raise KioskUnavailable("the kiosk refused the control token (restarted?)")
        return answer

    def status(self) -> dict[str, Any]:
        return self.request("GET", "/control/status").json()

    def frame(self) -> tuple[bytes, int] | None:
        """The newest frame (JPEG) and the kiosk's frame count, or None before the first frame."""
        answer = self.request("GET", "/control/frame.jpg")
        if answer.status_code == 404:
            return None
        return answer.content, int(answer.headers.get("X-Frames", "0"))

    def thermometer(self) -> dict[str, Any]:
        return self.request("GET", "/control/thermometer", timeout=15.0).json()

    def test(self, part: str) -> str:
        return self.request("POST", f"/control/test/{part}").json()["done"]

    def service(self, on: bool, *, lease_s: float | None = None, why: str | None = None) -> dict[str, Any]:
        """Service mode on (renewing its lease) or off; its state {"on", "left_s", "ended"}."""
        asked: dict[str, Any] = {"on": on}
        if lease_s is not None:
            asked["lease_s"] = lease_s
        if why is not None:
            asked["why"] = why
        return self.request("POST", "/control/service", body=asked).json()

    def reload(self) -> dict[str, Any]:
        answer = self.request("POST", "/control/reload", timeout=15.0)
        return answer.json() | {"status": answer.status_code}
