"""The platform's database layer: PostgreSQL in production (psycopg 3 with a
connection pool), SQLite for the embedded demo sandbox.

SQL is written once with ``?`` placeholders and portable types (TEXT,
BIGINT, DOUBLE PRECISION, ON CONFLICT); the PostgreSQL path swaps the
placeholders. The schema is versioned (``central.migrations``): opening a
database brings it to the latest version unless told otherwise.

Concurrency: several server processes may share one PostgreSQL database.
Exactly-once rests on unique constraints (a second insert of a key raises
``IntegrityError`` once the first commits); statistics counters are added
at commit time in name order (``Tx.count``), so two transactions never wait
on each other's counters in opposite orders and a hot counter row is locked
only for the commit itself.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

POOL_MAX = int(os.environ.get("KIOSK_CENTRAL_POOL_MAX", "10"))  # PostgreSQL connections per process
COUNT_SHARDS = 8


class RetryableError(Exception):
    """The transaction lost a race (another transaction stored the same row
    first, or the server broke a deadlock); running it again resolves it."""


class IntegrityError(RetryableError):
    """A unique constraint refused a row (both back-ends)."""


def dialect_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    return "postgresql" if scheme in ("postgres", "postgresql") else scheme


class Database:
    """``transaction()`` yields a ``Tx`` with ``one``/``all``/``run``/``bump``/``count``.

    Connections are lent for one transaction each: from a psycopg pool on
    PostgreSQL, from a small idle list on SQLite (the web server's worker
    threads come and go; a connection per thread would stay open after its
    thread ended)."""

    POOL_IDLE = 8  # SQLite connections kept open between transactions

    def __init__(self, url: str, *, migrate: bool = True, pool_max: int | None = None,
                 state_dir: str | os.PathLike | None = None):
        self.url = url
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self.dialect = dialect_of(url)
        self._idle: list[Any] = []
        self._all_lock = threading.Lock()
        self._pool = None
        if self.dialect == "sqlite":
            parts = urlsplit(url)
            raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parts.path
            self.path: Path | None = Path(raw)
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # It holds names, ID numbers and addresses: owner only. SQLite gives
            # its -wal and -shm files the database file's mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
        elif self.dialect == "postgresql":
            try:
                from psycopg_pool import ConnectionPool
            except ImportError:
                raise RuntimeError("postgresql:// needs psycopg and psycopg_pool "
                                   "(pip install 'psycopg[binary]' psycopg-pool)") from None
            self.path = None
            self._pool = ConnectionPool(url, min_size=1, max_size=pool_max or POOL_MAX, open=False,
                                        kwargs={"autocommit": True}, name="central")
            self._pool.open(wait=True, timeout=30)
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")
        if migrate:
            from .migrations import migrate as bring_up

            bring_up(self)

    @property
    def state_dir(self) -> Path:
        """Where file state next to the database lives (the config-signing key)."""
        if self._state_dir is not None:
            return self._state_dir
        if self.path is not None:
            return self.path.parent
        return Path(os.path.expanduser(os.environ.get("KIOSK_CENTRAL_STATE", "~/.local/share/kiosk-central")))

    def _new_sqlite(self):
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        # The dedupe record must survive a power cut as surely as the case.
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    @contextlib.contextmanager
    def _sqlite(self) -> Iterator[Any]:
        with self._all_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._new_sqlite()
        try:
            yield conn
        finally:
            with self._all_lock:
                keep = len(self._idle) < self.POOL_IDLE
                if keep:
                    self._idle.append(conn)
            if not keep:
                with contextlib.suppress(Exception):
                    conn.close()

    @contextlib.contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Tx]:
        """``pipelined``: on PostgreSQL the statements go out without waiting
        for each answer (psycopg's pipeline mode); the connection waits only
        where a result is read (``one``/``all``/``fetch*`` on a ``send``
        cursor) and at commit. Errors may then surface at the next read or at
        commit, so only code that reads no row counts should ask for it."""
        if self._pool is not None:
            with self._pool.connection() as conn, _pg_errors():
                with conn.pipeline() if pipelined else contextlib.nullcontext(), conn.transaction():
                    tx = Tx(conn, self.dialect)
                    yield tx
                    tx.flush_counts()
            return
        with self._sqlite() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                tx = Tx(conn, self.dialect)
                yield tx
                tx.flush_counts()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only snapshot; on SQLite (WAL) it does not hold up writers
        the way ``transaction()``'s write lock would during a long report."""
        if self._pool is not None:
            with self.transaction() as tx:
                yield tx
            return
        with self._sqlite() as conn:
            conn.execute("BEGIN")
            try:
                yield Tx(conn, self.dialect)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def retrying(self, work, attempts: int = 4, *, pipelined: bool = False):
        """``work(tx)`` in a transaction, run again when it lost a race
        (``RetryableError``): the next run sees what the winner committed."""
        for attempt in range(attempts):
            try:
                with self.transaction(pipelined=pipelined) as tx:
                    return work(tx)
            except RetryableError:
                if attempt == attempts - 1:
                    raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._all_lock:
            for conn in self._idle:
                with contextlib.suppress(Exception):
                    conn.close()
            self._idle.clear()


@contextlib.contextmanager
def _pg_errors() -> Iterator[None]:
    """PostgreSQL's lost races as this module's errors (also when raised at commit)."""
    import psycopg

    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(str(exc).splitlines()[0]) from exc
    except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
        raise RetryableError(str(exc).splitlines()[0]) from exc


class Tx:
    def __init__(self, conn, dialect: str):
        self.conn = conn
        self.dialect = dialect
        self._counts: dict[str, int] = {}

    def _exec(self, sql: str, args: tuple):
        if self.dialect == "postgresql":
            return self.conn.execute(sql.replace("?", "%s"), args)
        try:
            return self.conn.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def run(self, sql: str, args: tuple = ()) -> int:
        cur = self._exec(sql, args)
        return cur.rowcount

    def send(self, sql: str, args: tuple = ()):
        """Run a query and return its cursor to read later: in a pipelined
        transaction several queries sent one after another cost one round trip."""
        return self._exec(sql, args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        """One statement for many parameter rows (SQLite ``executemany``; psycopg pipelines them)."""
        if self.dialect == "postgresql":
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
            return
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def one(self, sql: str, args: tuple = ()) -> tuple | None:
        return self._exec(sql, args).fetchone()

    def all(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self._exec(sql, args).fetchall()

    def bump(self, name: str, by: int = 1) -> int:
        """Increment a durable counter now and return its new value (a
        sequence: the row stays locked until this transaction ends)."""
        row = self.one("INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT (name)"
                       " DO UPDATE SET value = counters.value + excluded.value RETURNING value", (name, by))
        return int(row[0])

    def count(self, name: str, by: int = 1) -> None:
        """Add to a statistics counter when this transaction commits."""
        self._counts[name] = self._counts.get(name, 0) + by

    def flush_counts(self) -> None:
        # Each count goes to one of COUNT_SHARDS rows, so server processes adding to
        # the same counter at once seldom wait for one another's commit.
        shard = random.randrange(COUNT_SHARDS)
        for name in sorted(self._counts):
            self.run("INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT (name)"
                     " DO UPDATE SET value = counters.value + excluded.value", (f"{name}#{shard}", self._counts[name]))
        self._counts.clear()

    def counter(self, name: str) -> int:
        """A sequence's value or a statistics counter's total."""
        row = self.one("SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = ? OR name LIKE ?",
                       (name, f"{name}#%"))
        return int(row[0]) if row else 0
