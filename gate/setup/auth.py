"""Who may use the setup page: the password's hash, the sign-in lockout and the sessions.

- The password is kept only as an Argon2id hash (argon2-cffi's PasswordHasher: slow, salted,
  the parameters stored in the hash itself) in `[setup] password_hash`.
- Five wrong passwords in a row lock sign-in for five minutes for the whole gate, whoever tries;
  the count and the lock are kept in a small file so a restart of the service does not reset them.
  Each attempt is counted, under one lock, before its password is checked (`Lockout.attempt`),
  so guesses sent at once cannot all pass the count during the slow hash: at most five are checked.
- A session is a random token in an HttpOnly, Secure, SameSite=Strict cookie, with its own CSRF
  token; it ends after 30 minutes without a request.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_FAILURES = 5
LOCKOUT_S = 5 * 60
SESSION_IDLE_S = 30 * 60
MIN_PASSWORD_LEN = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of `password` (ValueError when it is too short to protect a gate)."""
    if len(password) < MIN_PASSWORD_LEN:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LEN} characters")
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """True when `password` is the one `stored_hash` was made from; False for any bad hash."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class Lockout:
    """Wrong passwords in a row, for the whole gate, kept in `path` (JSON) across restarts."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text())
            return {"failures": int(data.get("failures", 0)), "locked_until": float(data.get("locked_until", 0))}
        except FileNotFoundError:
            return {"failures": 0, "locked_until": 0.0}
        except (OSError, ValueError, TypeError, AttributeError):
            # a damaged file must not open the door: treat it as locked for one period
            return {"failures": 0, "locked_until": self.clock() + LOCKOUT_S}

    def _write(self, state: dict[str, float]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def locked_for(self) -> float:
        """Seconds sign-in stays locked (0 when it is not)."""
        with self._lock:
            return max(0.0, self._read()["locked_until"] - self.clock())

    def attempt(self) -> float:
        """Count one sign-in attempt before its password is checked, atomically with the check of
        the lock. Returns 0 when the attempt may go on to the password check, else the seconds
        sign-in stays locked. An attempt counts as wrong until `succeeded()` says otherwise;
        the fifth one in a row starts the lock (the ones already counted are still checked)."""
        with self._lock:
            state = self._read()
            left = state["locked_until"] - self.clock()
            if left > 0:
                return left
            state["failures"] += 1
            if state["failures"] >= MAX_FAILURES:
                state = {"failures": 0, "locked_until": self.clock() + LOCKOUT_S}
            self._write(state)
            return 0.0

    def failed(self) -> float:
        """Count a wrong password; returns the seconds of the lock it started (0 if none)."""
        with self._lock:
            state = self._read()
            state["failures"] += 1
            locked = 0.0
            if state["failures"] >= MAX_FAILURES:
                state = {"failures": 0, "locked_until": self.clock() + LOCKOUT_S}
                locked = float(LOCKOUT_S)
            self._write(state)
            return locked

    def succeeded(self) -> None:
        with self._lock:
            if self._read() != {"failures": 0, "locked_until": 0.0}:
                self._write({"failures": 0, "locked_until": 0.0})


@dataclass
class Session:
    """One signed-in browser."""

    token: str
    csrf_token: str
    address: str
    last_seen: float
    started: float = field(default=0.0)


class Sessions:
    """Sessions in memory (a restarted service signs everyone out), expiring after idle time."""

    def __init__(self, idle_s: float = SESSION_IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, address: str) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), address, now, now)
        with self._lock:
            self._expire(now)
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of `token`, its idle time restarted; None when unknown or expired."""
        if not token:
            return None
        now = self.clock()
        with self._lock:
            self._expire(now)
            session = self._sessions.get(token)
            if session is not None:
                session.last_seen = now
            return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if now - s.last_seen > self.idle_s]:
            del self._sessions[token]
