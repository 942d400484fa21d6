"""A throwaway PostgreSQL server for tests and benchmarks: Debian's
``postgresql`` package run from a temp dir (initdb, pg_ctl), listening only
on a unix socket in that dir, stopped and removed afterwards.

initdb refuses to run as root, so as root the server runs as the
``postgres`` user the package creates (``runuser``)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().parent.joinpath("initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, *, fsync: bool = False, max_connections: int = 100):
        bindir = _bindir()
        if bindir is None:
            raise PostgresUnavailable("PostgreSQL server binaries not found (Debian package postgresql)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.data, self.socket_dir = self.root / "data", self.root / "sock"
        self.socket_dir.mkdir()
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root needs the postgres user (Debian package postgresql)") \
                    from None
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)
        self.fsync = fsync
        self.max_connections = max_connections

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._as + list(args), capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-400:]}")

    def start(self) -> PostgresServer:
        try:
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C", "--no-sync")
            fsync = "on" if self.fsync else "off"
            opts = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses='' -c fsync={fsync}"
                    f" -c max_connections={self.max_connections} -c shared_buffers=64MB")
            if not self.fsync:
                opts += " -c synchronous_commit=off -c full_page_writes=off"
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                      str(self.root / "server.log"), "-w", "-t", "60", "start")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
