"""A throw-away PostgreSQL server for tests and benchmarks of the collector (a test kit: never
imported by the gate or the collector).

`TemporaryPostgres` runs ``initdb`` and ``pg_ctl`` from the installed PostgreSQL binaries
(Debian: package ``postgresql`` puts them in ``/usr/lib/postgresql/<major>/bin``) into a
temporary directory, on a free loopback port with its unix socket in the same directory, with
durability switched off for speed. PostgreSQL refuses to run as root: when the tests run as
root, the server runs as the ``postgres`` system user (made by the Debian package) through
``runuser``. Set ``GATE_PG_BIN`` to a folder holding ``initdb`` and ``pg_ctl`` to choose one.

    with TemporaryPostgres() as pg:
        url = pg.create_database("collector_test")   # postgresql://postgres@127.0.0.1:PORT/...
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from gate.errors import GateError


class PostgresUnavailable(GateError, RuntimeError):
    """No PostgreSQL binaries (or no user to run them as) on this machine."""


def find_pg_bin() -> Path:
    """The folder holding initdb and pg_ctl; PostgresUnavailable when there is none."""
    candidates: list[str] = []
    if os.environ.get("GATE_PG_BIN"):
        candidates.append(os.environ["GATE_PG_BIN"])
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))

    def major(path: str) -> int:
        try:
            return int(Path(path).parent.name)
        except ValueError:
            return 0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) found: install the Debian package "
        "'postgresql' or set GATE_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryPostgres:
    """A PostgreSQL server in a temporary directory; `stop()` removes every trace of it."""

    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self._run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(
                    "running as root and there is no 'postgres' user to run PostgreSQL as"
                ) from exc
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root and 'runuser' is missing")
            self._run_as = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="gate-pg-"))
        self.port = _free_port()
        self._started = False

    @property
    def url(self) -> str:
        """The URL of the server's default database ``postgres``."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-500:]}"
            )

    def start(self) -> "TemporaryPostgres":
        if self._started:
            return self
        if self._run_as is not None:
            shutil.chown(self.dir, user=self._run_as)
        data = self.dir / "data"
        self._run(self.bin / "initdb", "-D", data, "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(self.bin / "pg_ctl", "-D", data, "-o", options, "-l", self.dir / "server.log",
                  "-w", "-t", "30", "start")
        self._started = True
        return self

    def create_database(self, name: str) -> str:
        """Make an empty database and return its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        """Stop the server at once and delete its directory; safe to call twice."""
        if self._started:
            try:
                self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-m", "immediate",
                          "-w", "stop")
            finally:
                self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "TemporaryPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
