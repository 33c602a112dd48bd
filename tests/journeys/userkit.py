"""A new user's shell for the journeys: the installed `gate` command run as a subprocess in a clean
environment (no variable the suite set, a fresh HOME and working folder), as a person types it.

    def test_first_hour(user: User) -> None:
        done = user.gate("keys", "new", "device", "--out", "dev.key")
        done.ok()                                   # exit 0, no traceback
        user.gate("collector", "add-user", "ana", "--role", "admin", input="pw\npw\n").ok()
        user.gate("verify", "--trust", "nowhere", "JKM1:x").refused()   # exit 2, one line, no traceback

Every journey imports this kit; a journey's own fixtures stay in its own file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # the .venv the suite runs in: `make test` installed `gate` there
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Done:
    """What one command left behind: its arguments, exit status and both streams."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def _say(self) -> str:
        return f"gate {' '.join(self.args)} -> exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"

    def ok(self) -> Done:
        """Exit 0 and no traceback on either stream."""
        assert self.returncode == 0, self._say()
        assert TRACEBACK not in self.stdout + self.stderr, self._say()
        return self

    def refused(self, code: int = 2) -> Done:
        """The refusal a person should get: exit `code`, one line on stderr, no traceback."""
        assert self.returncode == code, self._say()
        assert TRACEBACK not in self.stdout + self.stderr, self._say()
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, self._say()
        return self


@dataclass
class User:
    """A person at a fresh shell: HOME and the working folder are new and empty, the environment holds
    only PATH (the project's .venv first, as after `make install`), HOME, LANG and TZ."""

    home: Path
    cwd: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TZ": "Asia/Shanghai",
        }
        env.update(self.extra_env)
        return env

    def run(self, *args: str, input: str | None = None, timeout: float = 120,
            env: Mapping[str, str] | None = None) -> Done:
        """Run any command line (args[0] found on the clean PATH) in the working folder."""
        proc = subprocess.run(list(args), cwd=self.cwd, env={**self.env(), **(env or {})}, input=input,
                              capture_output=True, text=True, timeout=timeout)
        return Done(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def gate(self, *args: str, input: str | None = None, timeout: float = 120,
             env: Mapping[str, str] | None = None) -> Done:
        """`gate ARGS...` as the user types it."""
        done = self.run(str(VENV_BIN / "gate"), *args, input=input, timeout=timeout, env=env)
        return Done(tuple(args), done.returncode, done.stdout, done.stderr)

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a long-running `gate ARGS...` (a server, the kiosk) in the background; the caller stops it."""
        return subprocess.Popen([str(VENV_BIN / "gate"), *args], cwd=self.cwd, env={**self.env(), **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def user(tmp_path: Path) -> Iterator[User]:
    """A new user: an empty HOME and an empty working folder of their own."""
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    yield User(home=home, cwd=cwd)


def environment_is_clean(env: Mapping[str, str]) -> bool:
    """True when nothing of the suite's own set-up (Django settings, gate variables) leaks into `env`."""
    return not any(k.startswith(("DJANGO_", "GATE_", "PYTEST")) for k in env)


assert environment_is_clean(User(Path("/"), Path("/")).env())
