"""Schema migrations of the terminal's case store.

Each migration is one entry of ``MIGRATIONS`` (version, SQL script) applied in
order inside one transaction; ``PRAGMA user_version`` records the last one
applied. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- seq: local monotonic sequence (AUTOINCREMENT never reuses a value,
    -- even after retention purges), independent of the wall clock.
    CREATE TABLE cases (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id        TEXT NOT NULL UNIQUE,
        ref            TEXT NOT NULL UNIQUE,
        service        TEXT NOT NULL,
        terminal_id    TEXT NOT NULL,
        created_at     REAL NOT NULL,          -- terminal wall clock, informational
        key_id         TEXT NOT NULL,
        body           BLOB NOT NULL,          -- encrypted canonical JSON sent to central
        summary        TEXT NOT NULL,          -- masked JSON for listings
        document_hash  TEXT,
        evaluation     TEXT,                   -- JSON {level, reasons, rated_at}
        status         TEXT NOT NULL DEFAULT 'pending',  -- pending | synced | dead
        acked_at       REAL,                   -- when central acknowledged (terminal clock)
        central        TEXT                    -- JSON receipt from central
    );
    CREATE INDEX cases_status ON cases(status, acked_at);
    CREATE TABLE outbox (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id          TEXT NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
        kind             TEXT NOT NULL,        -- case | evaluation
        idempotency_key  TEXT NOT NULL UNIQUE,
        payload          BLOB,                 -- encrypted body (evaluation); NULL for case (body in cases)
        state            TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | dead
        attempts         INTEGER NOT NULL DEFAULT 0,
        created_at       REAL NOT NULL,
        last_attempt_at  REAL,
        last_error       TEXT,
        http_status      INTEGER,
        sent_at          REAL,
        dead_reason      TEXT
    );
    CREATE INDEX outbox_state ON outbox(state, seq);
    CREATE INDEX outbox_case ON outbox(case_id);
    INSERT INTO meta(key, value) VALUES ('purged', '0');
    """),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` to the latest schema; returns the version. The connection
    must be in autocommit mode (isolation_level=None)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > LATEST:
        raise RuntimeError(f"case store schema {version} is newer than this software ({LATEST})")
    for number, script in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have migrated.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = number
    return version


def _statements(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        if sqlite3.complete_statement("\n".join(buf)):
            out.append("\n".join(buf).strip())
            buf = []
    return [s for s in out if s.strip(" ;\n")]
