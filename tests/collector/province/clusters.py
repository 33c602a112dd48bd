"""PostgreSQL clusters for the province's tests: cities (wal_level logical), a province, and a
streaming replica, each its own initdb'd server on a loopback port, stopped and started again
with their data kept (unlike `TemporaryPostgres.stop`, which removes them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from tests.postgreskit import PostgresUnavailable, TemporaryPostgres


class Cluster(TemporaryPostgres):
    """A throw-away PostgreSQL with extra settings (``-c name=value``) that can stop and resume."""

    def __init__(self, name: str, **settings: object) -> None:
        super().__init__()
        # the server's own folder (initdb may be a link on PATH; pg_basebackup sits beside it)
        self.bin = (self.bin / "initdb").resolve().parent
        self.name = name
        self.settings = {"wal_level": "logical", "max_wal_senders": 10,
                         "max_replication_slots": 10, "wal_receiver_status_interval": 1,
                         "max_logical_replication_workers": 8, **settings}

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def _options(self) -> str:
        extra = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        return (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                + extra)

    def start(self) -> "Cluster":
        if self._started:
            return self
        if not self.data.exists():
            if self._run_as is not None:
                shutil.chown(self.dir, user=self._run_as)
            self._run(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync", "--no-instructions")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", self._options(), "-l",
                  self.dir / "server.log", "-w", "-t", "30", "start")
        self._started = True
        return self

    def halt(self) -> None:
        """Stop the server (fast shutdown), keeping its data for `start`."""
        if self._started:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
            self._started = False

    def sql(self, statement: str, args: tuple = (), db: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.database_url(db), autocommit=True) as conn:
            cur = conn.execute(statement, args)
            return cur.fetchall() if cur.description else []

    def standby(self) -> "Standby":
        """A streaming replica of this server (pg_basebackup -R), started."""
        return Standby(self).start()


class Standby(Cluster):
    """A hot standby of `primary`, made by pg_basebackup and streaming from it."""

    def __init__(self, primary: Cluster) -> None:
        super().__init__(primary.name + "-standby", wal_level="replica", hot_standby="on")
        self.primary = primary

    def start(self) -> "Standby":
        if self._started:
            return self
        if not self.data.exists():
            if self._run_as is not None:
                shutil.chown(self.dir, user=self._run_as)
            self._run(self.bin / "pg_basebackup", "-D", self.data, "-h", "127.0.0.1", "-p",
                      str(self.primary.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast",
                      "--no-sync")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", self._options(), "-l",
                  self.dir / "server.log", "-w", "-t", "30", "start")
        self._started = True
        return self


__all__ = ["Cluster", "Standby", "PostgresUnavailable"]
