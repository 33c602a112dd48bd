"""systemd's notify protocol (sd_notify(3)), written with the standard library.

`Type=notify` units learn the kiosk is ready (`READY=1`), alive (`WATCHDOG=1`) and what it is
doing (`STATUS=...`) through datagrams on the socket named by `NOTIFY_SOCKET`. Outside systemd
the variable is unset and every call does nothing.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends notify messages to systemd when run under it; silent otherwise."""

    def __init__(self, address: str | None = None) -> None:
        address = os.environ.get("NOTIFY_SOCKET") if address is None else address
        self._address: str | bytes | None = None
        self._sock: socket.socket | None = None
        if address:
            # An address starting with '@' is in the abstract namespace: a leading NUL byte.
            self._address = "\0" + address[1:] if address.startswith("@") else address
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self._sock is not None

    def send(self, *fields: str) -> bool:
        """Send `KEY=value` fields in one datagram; False when not under systemd or the send failed."""
        if self._sock is None or self._address is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode("utf-8"), self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text.splitlines()[0] if text else ''}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval_s() -> float | None:
    """Half of systemd's WatchdogSec (from WATCHDOG_USEC), the interval to ping at; None if unset."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return None
    return int(usec) / 2_000_000
