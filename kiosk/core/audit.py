"""Security audit trail: an append-only, hash-chained log of what security
cares about (technician logins and lockouts, staff-assisted verifications,
remote configuration applied or refused, certificates issued, key rotation,
refused cross-terminal or tampered inputs).

Each record is ``seq, at, kind, fields, prev, hash`` where ``hash`` is
HMAC-SHA256 under the terminal's audit key over the canonical JSON of the
terminal id and the other five, and ``prev`` is the previous record's hash.
A signed head (last seq and hash) is stored with every append, so editing,
removing (also the last records) or reordering records is found by
``verify()`` (``kiosk audit verify``). Fields pass through the masking
policy: no personal data beyond masked values.

Records reach central exactly once: ``pending()`` / ``mark_synced()`` are
driven by the sync worker, central stores each (terminal, seq) once and
refuses a record whose chain does not continue what it already holds.

Storage: ``<data_dir>/audit/audit.db`` (SQLite, WAL, synchronous=FULL;
triggers refuse UPDATE and DELETE) and the key ``<data_dir>/audit/audit.key``
(32 random bytes, 0600, created on first use, apart from the case keys).
Several processes (app, CLI, sync) may append: each append is one
``BEGIN IMMEDIATE`` transaction.

Other code calls ``audit_for(config).record(kind, **fields)``; recording
never raises (a broken audit store is logged and counted, the service goes on).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .canonical import canonical_json
from .masking import mask_mapping

log = logging.getLogger(__name__)

ZERO = "0" * 64
KINDS = {
    "technician_login", "technician_login_failed", "technician_lockout",
    "staff_verification", "staff_verification_failed", "staff_lockout",
    "remote_config_applied", "remote_config_refused",
    "certificate_issued", "key_rotated",
    "cross_terminal_refused", "tampered_input",
}
MAX_FIELD_CHARS = 200

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, fields TEXT NOT NULL,
        prev TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS audit_append_only_u BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_append_only_d BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]


class AuditError(Exception):
    pass


@dataclass
class Verdict:
    ok: bool
    line: str          # one line for the technician
    records: int
    last_seq: int


def _clean_fields(fields: dict) -> dict:
    """Masked, flat, short: what may be kept about an event."""
    out = {}
    for key, value in mask_mapping(fields).items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        if value is not None and not isinstance(value, (bool, int, float)):
            value = str(value)[:MAX_FIELD_CHARS]
        out[str(key)[:64]] = value
    return out


def _load_or_create_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return _load_or_create_key(path)
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    if len(key) != 32:
        raise AuditError(f"audit key {path} is damaged ({len(key)} bytes)")
    return key


class AuditLog:
    def __init__(self, data_dir: str | os.PathLike, terminal_id: str = "T-0001", *,
                 clock: Callable[[], float] = time.time, create_key: bool = True):
        self.dir = Path(data_dir) / "audit"
        self.path = self.dir / "audit.db"
        self.key_path = self.dir / "audit.key"
        self.terminal_id = terminal_id
        self.clock = clock
        self._create_key = create_key
        self._key: bytes | None = None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.failures = 0
        self.listeners: list[Callable[[], None]] = []

    @classmethod
    def from_config(cls, config, **kw: Any) -> AuditLog:
        return cls(config.data_dir, config.terminal_id, **kw)

    # -- storage ---------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            for stmt in _SCHEMA:
                conn.execute(stmt)
            # the terminal the chain was started for is part of every signature
            conn.execute("INSERT OR IGNORE INTO meta(k, v) VALUES ('terminal', ?)", (self.terminal_id,))
            self.terminal_id = conn.execute("SELECT v FROM meta WHERE k = 'terminal'").fetchone()[0]
            os.chmod(self.path, 0o600)
            self._conn = conn
        return self._conn

    def key(self) -> bytes:
        if self._key is None:
            if not self._create_key and not self.key_path.exists():
                raise AuditError(f"audit key {self.key_path} is missing")
            self._key = _load_or_create_key(self.key_path)
        return self._key

    def _mac(self, data: Any) -> str:
        return hmac.new(self.key(), canonical_json(data), hashlib.sha256).hexdigest()

    def _record_mac(self, seq: int, at: str, kind: str, fields: dict, prev: str) -> str:
        return self._mac({"terminal": self.terminal_id, "seq": seq, "at": at, "kind": kind,
                          "fields": fields, "prev": prev})

    def _head_mac(self, seq: int, digest: str) -> str:
        return self._mac({"terminal": self.terminal_id, "head": seq, "hash": digest})

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing -----------------------------------------------------------------
    def append(self, kind: str, **fields: Any) -> dict:
        """Append one record; raises AuditError / sqlite3.Error."""
        if kind not in KINDS:
            raise AuditError(f"unknown audit kind {kind!r}")
        clean = _clean_fields(fields)
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, ZERO)
                digest = self._record_mac(seq, at, kind, clean, prev)
                conn.execute("INSERT INTO audit(seq, at, kind, fields, prev, hash) VALUES (?,?,?,?,?,?)",
                             (seq, at, kind, canonical_json(clean).decode("utf-8"), prev, digest))
                head = json.dumps({"seq": seq, "hash": digest, "mac": self._head_mac(seq, digest)})
                conn.execute("INSERT OR REPLACE INTO meta(k, v) VALUES ('head', ?)", (head,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        for listener in list(self.listeners):
            listener()
        return {"seq": seq, "at": at, "kind": kind, "fields": clean, "prev": prev, "hash": digest}

    def record(self, kind: str, **fields: Any) -> dict | None:
        """Append, never raising: the event is logged instead if the audit store fails."""
        try:
            return self.append(kind, **fields)
        except (AuditError, sqlite3.Error, OSError) as exc:
            self.failures += 1
            log.error("audit record not written", extra={"kind": kind, "reason": str(exc)})
            return None

    # -- reading -----------------------------------------------------------------
    def records(self, after_seq: int = 0, limit: int | None = None, kind: str | None = None) -> list[dict]:
        sql = "SELECT seq, at, kind, fields, prev, hash FROM audit WHERE seq > ?"
        args: list[Any] = [after_seq]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._connection().execute(sql, args).fetchall()
        return [{"seq": r[0], "at": r[1], "kind": r[2], "fields": json.loads(r[3]), "prev": r[4], "hash": r[5]}
                for r in rows]

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._connection().execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def synced_seq(self) -> int:
        return int(self._meta("synced_seq") or 0)

    def pending(self, limit: int = 200) -> list[dict]:
        """Records central has not acknowledged yet, oldest first, as sent."""
        rows = self.records(self.synced_seq(), limit)
        return [{"terminal_id": self.terminal_id, **r} for r in rows]

    def mark_synced(self, seq: int) -> None:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT v FROM meta WHERE k = 'synced_seq'").fetchone()
                if seq > int(row[0] if row else 0):
                    conn.execute("INSERT OR REPLACE INTO meta(k, v) VALUES ('synced_seq', ?)", (str(seq),))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def stats(self) -> dict:
        with self._lock:
            count, last = self._connection().execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM audit").fetchone()
        synced = self.synced_seq()
        return {"records": count, "last_seq": last, "synced_seq": synced, "pending": max(0, last - synced),
                "write_failures": self.failures}

    # -- checking ------------------------------------------------------------------
    def verify(self) -> Verdict:
        """Walk the chain; the first problem found, in one line."""
        try:
            self.key()
            rows = self.records()
            head_text = self._meta("head")
        except (AuditError, sqlite3.Error, OSError) as exc:
            return Verdict(False, f"audit log unreadable: {exc}", 0, 0)
        prev, expected = ZERO, 1
        for r in rows:
            if r["seq"] != expected:
                return Verdict(False, f"record {expected} is missing (found {r['seq']} after {expected - 1})",
                               len(rows), r["seq"])
            if r["prev"] != prev:
                return Verdict(False, f"record {r['seq']} does not follow record {r['seq'] - 1}"
                               " (removed, inserted or reordered)", len(rows), r["seq"])
            if not hmac.compare_digest(r["hash"], self._record_mac(r["seq"], r["at"], r["kind"], r["fields"], prev)):
                return Verdict(False, f"record {r['seq']} was altered (its signature does not match)",
                               len(rows), r["seq"])
            prev, expected = r["hash"], expected + 1
        last = expected - 1
        if head_text is None:
            return (Verdict(True, "audit log empty", 0, 0) if not rows else
                    Verdict(False, "the signed head is missing", len(rows), last))
        try:
            head = json.loads(head_text)
            genuine = hmac.compare_digest(str(head["mac"]), self._head_mac(int(head["seq"]), str(head["hash"])))
        except (ValueError, KeyError, TypeError):
            genuine = False
        if not genuine:
            return Verdict(False, "the signed head was altered", len(rows), last)
        if int(head["seq"]) != last or head["hash"] != prev:
            return Verdict(False, f"records after {last} were removed (the signed head names record {head['seq']})",
                           len(rows), last)
        return Verdict(True, f"ok: {len(rows)} records, chain intact up to record {last}", len(rows), last)


_logs: dict[tuple[str, str], AuditLog] = {}
_logs_lock = threading.Lock()


def audit_at(data_dir: str | os.PathLike, terminal_id: str) -> AuditLog:
    """The process-wide audit log of a data directory."""
    key = (str(Path(data_dir).resolve()), terminal_id)
    with _logs_lock:
        if key not in _logs:
            _logs[key] = AuditLog(data_dir, terminal_id)
        return _logs[key]


def audit_for(config) -> AuditLog:
    return audit_at(config.data_dir, config.terminal_id)


ATTEMPT_KINDS = {
    "technician": ("technician_login", "technician_login_failed", "technician_lockout"),
    "staff": ("staff_verification", "staff_verification_failed", "staff_lockout"),
}


def record_attempt(config, who: str, result, counted: bool, **fields: Any) -> None:
    """A PIN attempt (``PinResult``): success, a counted failure, or the failure that
    starts a wait. Attempts refused while a wait runs are not counted, so not recorded."""
    ok_kind, failed_kind, lockout_kind = ATTEMPT_KINDS[who]
    if result.ok:
        record(config, ok_kind, **fields)
    elif getattr(result, "disabled", False):
        record(config, failed_kind, reason="not_enabled", **fields)
    elif counted:
        if result.locked:
            record(config, lockout_kind, wait_s=result.locked_for_s, **fields)
        else:
            record(config, failed_kind, remaining_tries=result.remaining_tries, **fields)


def record_at(data_dir: str | os.PathLike, terminal_id: str, kind: str, **fields: Any) -> dict | None:
    """Append to a data directory's audit log, never raising. The connection is
    closed again: these events are rare, and a process must not keep one open
    per data directory it ever touched (it reopens on the next use)."""
    try:
        trail = audit_at(data_dir, terminal_id)
    except Exception as exc:  # no usable data dir
        log.error("audit record not written", extra={"kind": kind, "reason": str(exc)})
        return None
    try:
        return trail.record(kind, **fields)
    finally:
        trail.close()


def record(config, kind: str, **fields: Any) -> dict | None:
    """``audit.record(config, kind, **fields)``: append to the config's audit log, never raising."""
    return record_at(config.data_dir, config.terminal_id, kind, **fields)


# --- CLI ---------------------------------------------------------------------
def _cli_log(ctx: click.Context) -> AuditLog:
    config = ctx.find_root().obj.config
    return AuditLog.from_config(config, create_key=False)


@click.group("audit")
def audit_group() -> None:
    """The terminal's security audit trail."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the chain: exit 1 with one line if a record was edited, removed or reordered."""
    from .clikit import fail

    trail = _cli_log(ctx)
    if not trail.path.exists():
        click.echo("ok: no audit records yet")
        return
    verdict = trail.verify()
    trail.close()
    if not verdict.ok:
        fail(f"audit log tampered: {verdict.line}" if verdict.records else verdict.line)
    click.echo(verdict.line)


@audit_group.command("list")
@click.option("--kind", default=None, help="Only records of this kind.")
@click.option("--after", "after_seq", type=int, default=0, help="Only records after this sequence number.")
@click.option("--limit", type=click.IntRange(1, 100000), default=200)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_list(ctx: click.Context, kind: str | None, after_seq: int, limit: int, as_json: bool) -> None:
    """Audit records, oldest first (fields are masked when written)."""
    from .clikit import emit, fail

    trail = _cli_log(ctx)
    if not trail.path.exists():
        emit([], as_json, "no audit records yet")
        return
    try:
        rows = trail.records(after_seq, limit, kind)
        synced = trail.synced_seq()
    except sqlite3.Error as exc:
        fail(f"audit log unreadable: {exc}")
    trail.close()
    human = "\n".join(f"{r['seq']:>6} {r['at']} {r['kind']:<26} "
                      + " ".join(f"{k}={v}" for k, v in sorted(r["fields"].items()))
                      + ("" if r["seq"] <= synced else "  (not yet at central)") for r in rows)
    emit(rows, as_json, human or "no matching audit records")
