"""Versioned schema migrations for both back-ends (SQLite and PostgreSQL).

Each ``Migration`` has a version, a name, and ``up``/``down`` steps: SQL
strings in the portable dialect ``central.db`` speaks, or functions of a
``Tx`` for data that must be rewritten. ``schema_migrations`` records what is
applied. Each step runs in its own transaction; on PostgreSQL an advisory
lock makes several server processes starting at once apply it once.

``migrate(db)`` brings a database to the latest version, ``migrate(db, N)``
up or down to version N (``kiosk central migrate``). A database made before
migrations existed is at version 0 with the tables already there: version 1
uses ``IF NOT EXISTS`` so it adopts them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .console import accounts as console_accounts
from .console import queries as console_queries
from .db import Database, Tx

LOCK_ID = 0x6B696F736B  # "kiosk": the advisory lock migrations take on PostgreSQL


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: tuple[str | Callable[[Tx], None], ...]
    down: tuple[str | Callable[[Tx], None], ...]


INITIAL = [
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

INITIAL_TABLES = ("idempotency", "cases", "evaluations", "counters", "terminals", "heartbeats", "terminal_services",
                  "terminal_configs", "payments", "paid_violations", "withdrawals", "documents", "audit_records",
                  "refusals", "queue_tickets")


ROLLUPS = """CREATE TABLE availability_rollups (
        terminal_id   TEXT NOT NULL,
        service       TEXT NOT NULL,
        span          DOUBLE PRECISION NOT NULL,
        bucket        DOUBLE PRECISION NOT NULL,
        available_s   DOUBLE PRECISION NOT NULL,
        unavailable_s DOUBLE PRECISION NOT NULL,
        not_offered_s DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (terminal_id, service, span, bucket))"""


def _first_heartbeats(tx: Tx) -> None:
    tx.run("UPDATE terminals SET first_heartbeat_at = (SELECT MIN(received_at) FROM heartbeats h"
           " WHERE h.terminal_id = terminals.terminal_id)")


def _rebuild_rollups(tx: Tx) -> None:
    from .report import DEFAULT_STALE_S
    from .rollups import rebuild

    rebuild(tx, DEFAULT_STALE_S)


# central/console's tables (its modules hold the statements)
CONSOLE = [*console_accounts.SCHEMA, *console_queries.SCHEMA]
CONSOLE_TABLES = ("console_operators", "console_sessions", "console_login_failures", "console_audit")


# What the front doors keep (resident codes, progress, appointments, the service guide).
# ``IF NOT EXISTS``: platforms that ran before version 4 made them on first use.
DOORS = [
    """CREATE TABLE IF NOT EXISTS resident_code_nonces (
        nonce       TEXT PRIMARY KEY,
        terminal_id TEXT NOT NULL,
        redeemed_at DOUBLE PRECISION NOT NULL,
        expires_at  DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS progress_index (
        case_id    TEXT PRIMARY KEY,
        central_no BIGINT NOT NULL UNIQUE,
        holder     TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS progress_holder ON progress_index(holder, central_no)",
    """CREATE TABLE IF NOT EXISTS appointments (
        appointment_id TEXT PRIMARY KEY,
        slot_id        TEXT NOT NULL,
        seat           BIGINT,
        holder         TEXT NOT NULL,
        code           TEXT NOT NULL UNIQUE,
        status         TEXT NOT NULL,
        terminal_id    TEXT NOT NULL,
        created_at     DOUBLE PRECISION NOT NULL,
        checked_in_at  DOUBLE PRECISION,
        UNIQUE (slot_id, seat))""",
    "CREATE INDEX IF NOT EXISTS appointments_holder ON appointments(holder, status)",
    """CREATE TABLE IF NOT EXISTS guide_versions (
        version    BIGINT PRIMARY KEY,
        content    TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
]
DOOR_TABLES = ("resident_code_nonces", "progress_index", "appointments", "guide_versions")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", tuple(INITIAL),
              tuple(f"DROP TABLE IF EXISTS {t}" for t in reversed(INITIAL_TABLES))),
    Migration(2, "availability rollups, first heartbeat, raw heartbeat pruning", (
        ROLLUPS,
        "CREATE INDEX availability_rollups_bucket ON availability_rollups(span, bucket)",
        "ALTER TABLE terminals ADD COLUMN first_heartbeat_at DOUBLE PRECISION",
        "CREATE INDEX heartbeats_received ON heartbeats(received_at)",
        "CREATE INDEX cases_received ON cases(received_at)",
        "CREATE INDEX evaluations_received ON evaluations(received_at)",
        _first_heartbeats,
        # offline blocks come from a sequence from now on, after the blocks already given
        "DELETE FROM counters WHERE name = 'offline_blocks'",
        "INSERT INTO counters(name, value) SELECT 'offline_blocks', COALESCE(MAX(offline_block), -1) + 1"
        " FROM terminals",
        _rebuild_rollups,
    ), (
        "DELETE FROM counters WHERE name = 'offline_blocks'",
        "DROP INDEX IF EXISTS evaluations_received",
        "DROP INDEX IF EXISTS cases_received",
        "DROP INDEX IF EXISTS heartbeats_received",
        "ALTER TABLE terminals DROP COLUMN first_heartbeat_at",
        "DROP TABLE IF EXISTS availability_rollups",
    )),
    Migration(3, "operator console: operators, sessions, sign-in failures, audit trail",
              tuple(CONSOLE), tuple(f"DROP TABLE IF EXISTS {t}" for t in reversed(CONSOLE_TABLES))
              + ("DELETE FROM counters WHERE name = 'console_audit'",)),
    Migration(4, "front doors: resident-code nonces, progress index, appointments, service guide",
              tuple(DOORS), tuple(f"DROP TABLE IF EXISTS {t}" for t in reversed(DOOR_TABLES))),
)
LATEST = MIGRATIONS[-1].version


def _ensure_table(db: Database) -> None:
    with db.transaction() as tx:
        if db.dialect == "postgresql":
            tx.one("SELECT pg_advisory_xact_lock(?)", (LOCK_ID,))
        tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
               " applied_at DOUBLE PRECISION NOT NULL)")


def current_version(tx: Tx) -> int:
    return int(tx.one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0])


def _step(db: Database, migration: Migration, up: bool) -> bool:
    """Apply (or revert) one migration in one transaction, unless another process did."""
    with db.transaction() as tx:
        if db.dialect == "postgresql":
            tx.one("SELECT pg_advisory_xact_lock(?)", (LOCK_ID,))
        have = current_version(tx)
        if (up and have >= migration.version) or (not up and have < migration.version):
            return False
        for step in (migration.up if up else migration.down):
            step(tx) if callable(step) else tx.run(step)
        if up:
            tx.run("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)",
                   (migration.version, migration.name, time.time()))
        else:
            tx.run("DELETE FROM schema_migrations WHERE version = ?", (migration.version,))
    return True


def migrate(db: Database, target: int | None = None) -> list[str]:
    """Bring ``db`` to version ``target`` (default: the latest); returns what was done."""
    target = LATEST if target is None else target
    if not 0 <= target <= LATEST:
        raise ValueError(f"no schema version {target} (0..{LATEST})")
    _ensure_table(db)
    with db.transaction() as tx:
        have = current_version(tx)
    done = []
    for m in MIGRATIONS if target >= have else reversed(MIGRATIONS):
        up = target >= have
        if (up and have < m.version <= target) or (not up and target < m.version <= have):
            if _step(db, m, up):
                done.append(f"{'up' if up else 'down'} {m.version} {m.name}")
    return done
