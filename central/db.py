"""A thin database layer for the central sandbox: SQLite by default,
PostgreSQL through psycopg (v3) when it is installed and a
``postgresql://`` URL is given.

SQL is written once with ``?`` placeholders and portable types (TEXT,
BIGINT, DOUBLE PRECISION, ON CONFLICT DO NOTHING); the PostgreSQL path swaps
the placeholders. Tests run the SQLite path; the PostgreSQL path is kept to
the same statements so a real deployment can point ``--db`` at a server.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS idempotency (
        key         TEXT PRIMARY KEY,
        terminal_id TEXT NOT NULL,
        endpoint    TEXT NOT NULL,
        body_hash   TEXT NOT NULL,
        status      BIGINT NOT NULL,
        response    TEXT NOT NULL,
        created_at  DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cases (
        case_id         TEXT PRIMARY KEY,
        central_no      BIGINT NOT NULL UNIQUE,
        terminal_id     TEXT NOT NULL,
        seq             BIGINT NOT NULL,
        ref             TEXT NOT NULL,
        service         TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        body            TEXT NOT NULL,
        received_at     DOUBLE PRECISION NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE)""",
    "CREATE INDEX IF NOT EXISTS cases_terminal ON cases(terminal_id, seq)",
    """CREATE TABLE IF NOT EXISTS evaluations (
        case_id         TEXT PRIMARY KEY,
        level           BIGINT NOT NULL,
        body            TEXT NOT NULL,
        received_at     DOUBLE PRECISION NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS terminals (
        terminal_id       TEXT PRIMARY KEY,
        registered_at     DOUBLE PRECISION NOT NULL,
        offline_block     BIGINT NOT NULL UNIQUE,
        last_heartbeat_at DOUBLE PRECISION,
        last_heartbeat    TEXT)""",
    """CREATE TABLE IF NOT EXISTS heartbeats (
        terminal_id TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        body        TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS heartbeats_terminal ON heartbeats(terminal_id, received_at)",
    # When each service was first reported (the availability report starts counting it there).
    """CREATE TABLE IF NOT EXISTS terminal_services (
        terminal_id   TEXT NOT NULL,
        service       TEXT NOT NULL,
        first_seen_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (terminal_id, service))""",
    """CREATE TABLE IF NOT EXISTS terminal_configs (
        target     TEXT PRIMARY KEY,
        version    BIGINT NOT NULL,
        config     TEXT NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS payments (
        payment_id   TEXT PRIMARY KEY,
        case_ref     TEXT NOT NULL,
        amount_cents BIGINT NOT NULL,
        description  TEXT NOT NULL,
        items        TEXT NOT NULL,
        status       TEXT NOT NULL,
        created_at   DOUBLE PRECISION NOT NULL,
        paid_at      DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS paid_violations (
        violation_id TEXT PRIMARY KEY,
        payment_id   TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS withdrawals (
        withdrawal_id TEXT PRIMARY KEY,
        case_ref      TEXT NOT NULL,
        amount_cents  BIGINT NOT NULL,
        body          TEXT NOT NULL,
        created_at    DOUBLE PRECISION NOT NULL)""",
    # certificates issued by terminals, by serial (GET /v1/verify/{ref}); only masked fields
    """CREATE TABLE IF NOT EXISTS documents (
        serial      TEXT PRIMARY KEY,
        case_id     TEXT NOT NULL,
        body        TEXT NOT NULL)""",
    # Terminals' audit trails: each (terminal, seq) once (central/audit.py).
    """CREATE TABLE IF NOT EXISTS audit_records (
        terminal_id TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        hash        TEXT NOT NULL,
        prev        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (terminal_id, seq))""",
    # Requests refused because a terminal tried to act as another (app.py refuse):
    # the platform's own audit of them, beside the log line and the counter.
    """CREATE TABLE IF NOT EXISTS refusals (
        at          DOUBLE PRECISION NOT NULL,
        caller      TEXT NOT NULL,
        action      TEXT NOT NULL,
        reason      TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS queue_tickets (
        ticket_id   TEXT PRIMARY KEY,
        business    TEXT NOT NULL,
        day         TEXT NOT NULL,
        number      BIGINT NOT NULL,
        terminal_id TEXT NOT NULL,
        issued_at   DOUBLE PRECISION NOT NULL)""",
]


class IntegrityError(Exception):
    """A unique constraint refused a row (both back-ends)."""


class Database:
    """``transaction()`` yields a ``Tx`` with ``one``/``all``/``run``.

    Connections are lent from a small pool for one transaction each: the web
    server's worker threads come and go, and a connection per thread would
    stay open after its thread ended (descriptors and memory growing for as
    long as the process runs)."""

    POOL_IDLE = 8  # connections kept open between transactions

    def __init__(self, url: str):
        self.url = url
        parts = urlsplit(url)
        self.dialect = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
        self._idle: list[Any] = []
        self._all_lock = threading.Lock()
        if self.dialect == "sqlite":
            raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parts.path
            self.path = Path(raw)
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # It holds names, ID numbers and addresses: owner only. SQLite gives
            # its -wal and -shm files the database file's mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
        elif self.dialect == "postgresql":
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise RuntimeError("postgresql:// needs the psycopg package (pip install 'psycopg[binary]')") from None
            self.path = None
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")
        with self.transaction() as tx:
            for stmt in SCHEMA:
                tx.run(stmt)

    @property
    def state_dir(self) -> Path:
        """Where file state next to the database lives (the config-signing key)."""
        if self.path is not None:
            return self.path.parent
        return Path(os.path.expanduser(os.environ.get("KIOSK_CENTRAL_STATE", "~/.local/share/kiosk-central")))

    def _new_connection(self):
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            # The dedupe record must survive a power cut as surely as the case.
            conn.execute("PRAGMA synchronous = FULL")
            return conn
        import psycopg
        return psycopg.connect(self.url, autocommit=True)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._all_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._new_connection()
        try:
            yield conn
        finally:
            with self._all_lock:
                keep = len(self._idle) < self.POOL_IDLE and not getattr(conn, "closed", False)
                if keep:
                    self._idle.append(conn)
            if not keep:
                with contextlib.suppress(Exception):
                    conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Tx"]:
        with self._connect() as conn:
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(conn, self.dialect)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            else:
                with conn.transaction():
                    yield Tx(conn, self.dialect)

    @contextlib.contextmanager
    def read(self) -> Iterator["Tx"]:
        """A read-only snapshot; on SQLite (WAL) it does not hold up writers
        the way ``transaction()``'s write lock would during a long report."""
        if self.dialect != "sqlite":
            with self.transaction() as tx:
                yield tx
            return
        with self._connect() as conn:
            conn.execute("BEGIN")
            try:
                yield Tx(conn, self.dialect)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._idle:
                with contextlib.suppress(Exception):
                    conn.close()
            self._idle.clear()


class Tx:
    def __init__(self, conn, dialect: str):
        self.conn = conn
        self.dialect = dialect

    def _exec(self, sql: str, args: tuple):
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        try:
            return self.conn.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except Exception as exc:
            if type(exc).__name__ in ("UniqueViolation", "IntegrityError"):
                raise IntegrityError(str(exc)) from exc
            raise

    def run(self, sql: str, args: tuple = ()) -> int:
        cur = self._exec(sql, args)
        return cur.rowcount

    def one(self, sql: str, args: tuple = ()) -> tuple | None:
        return self._exec(sql, args).fetchone()

    def all(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self._exec(sql, args).fetchall()

    def bump(self, name: str, by: int = 1) -> int:
        """Increment a durable counter and return its new value."""
        self.run("INSERT INTO counters(name, value) VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (name,))
        self.run("UPDATE counters SET value = value + ? WHERE name = ?", (by, name))
        return self.one("SELECT value FROM counters WHERE name = ?", (name,))[0]

    def counter(self, name: str) -> int:
        row = self.one("SELECT value FROM counters WHERE name = ?", (name,))
        return row[0] if row else 0
