"""The terminal's case store: SQLite (WAL, synchronous=FULL) with an outbox.

A case and its outbox entry are written in ONE transaction; ``commit_case``
returns only after that transaction is durable, and only then may a flow tell
the resident the case is done. The sync worker (``offline_cache.sync``) sends
outbox entries in local sequence order, each under its own idempotency key, so
the central platform receives every case exactly once.

Personal data never reaches the disk in clear: the body sent to central is
kept AES-GCM encrypted (``offline_cache.crypto``); listings read a masked
summary written next to it.

Evaluations (one per case) travel inside the case body while the case has
never been sent; once a send was attempted the body is frozen (a retry must
carry the very same bytes under the same key) and the evaluation becomes its
own outbox entry with its own key, sent after the case.

Storage failures (full disk, read-only disk, corrupt file, missing key) raise
``StoreUnavailable`` with a catalog message; the store then reports itself as
not accepting new cases in ``health()`` until a probe succeeds, and never
deletes or rewrites what it holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk.core.i18n import text
from kiosk.core.masking import mask_mapping

from . import ballast
from .crypto import DecryptError, KeyMissing, KeyRing
from .migrations import LATEST, migrate
from .records import (
    CaseRecord,
    OutboxEntry,
    Outcome,
    StoreError,
    StoreUnavailable,
    case_json,
    clean_person,
    iso_utc,
    normalise_evaluation,
    unavailable_from,
)

log = logging.getLogger(__name__)

DB_NAME = "cases.db"

class CaseStore:
    """Cases of one terminal under ``data_dir`` (``cases.db`` and ``keys/``).

    Thread-safe (one connection behind a lock); several processes may open
    the same store (SQLite locking, busy timeout). ``clock`` gives wall-clock
    seconds for timestamps only: ordering never depends on it.
    """

    def __init__(self, data_dir: str | os.PathLike, terminal_id: str = "T-0001", *,
                 retention_days: int = 30, clock: Callable[[], float] = time.time,
                 full_check: bool = False, strict: bool = False):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self.terminal_id = terminal_id
        self.retention_days = retention_days
        self.clock = clock
        self.keys = KeyRing(self.data_dir / "keys")
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._problem: StoreUnavailable | None = None
        self._listeners: list[Callable[[], None]] = []
        self.schema_version = 0
        self.integrity = "unchecked"
        self.read_only_view = False
        try:
            with self._lock:
                self._open_or_read_only(full_check)
        except StoreUnavailable as exc:
            self._problem = exc
            log.error("case store unavailable", extra={"reason": exc.reason, "path": str(self.path)})
            if strict:
                raise

    @classmethod
    def from_config(cls, config, **kw: Any) -> CaseStore:
        return cls(config.data_dir, config.terminal_id,
                   retention_days=int(config.get("store.retention_days", 30)), **kw)

    # -- connection --------------------------------------------------------
    def _open_or_read_only(self, full_check: bool = False) -> None:
        try:
            self._open(full_check=full_check)
            self.read_only_view = False
        except StoreUnavailable as exc:
            if exc.reason != "read_only" or not self.path.exists():
                raise
            # Keep showing what the store holds while nothing can be written.
            conn = None
            wal = self.path.with_name(self.path.name + "-wal")
            # "immutable" skips the WAL, so only when no WAL content exists.
            modes = ["mode=ro"] + ([] if wal.exists() and wal.stat().st_size else ["mode=ro&immutable=1"])
            for mode in modes:
                try:
                    conn = sqlite3.connect(f"file:{self.path}?{mode}", uri=True, check_same_thread=False,
                                           isolation_level=None)
                    conn.execute("SELECT COUNT(*) FROM cases").fetchone()
                    break
                except sqlite3.Error:
                    if conn is not None:
                        conn.close()
                    conn = None
            if conn is None:
                raise exc from None
            self._conn = conn
            self.read_only_view = True
            self._problem = exc

    def _open(self, full_check: bool = False) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # SQLite gives -wal and -shm the main file's mode: keep all 0600.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise unavailable_from(exc) from exc
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable("read_only")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            check = conn.execute("PRAGMA integrity_check" if full_check else "PRAGMA quick_check").fetchall()
            self.integrity = "ok" if check == [("ok",)] else "; ".join(str(r[0]) for r in check[:5])
            if self.integrity != "ok":
                raise StoreUnavailable("corrupt")
            self.schema_version = migrate(conn)
            missing = self._missing_keys(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error) and not os.access(self.data_dir, os.W_OK):
                raise StoreUnavailable("read_only") from exc
            if isinstance(exc, (sqlite3.Error, OSError, StoreUnavailable)):
                if not isinstance(exc, StoreUnavailable) and unavailable_from(exc).reason == "corrupt":
                    self.integrity = str(exc)
                raise unavailable_from(exc) from exc
            raise
        self._conn = conn
        if missing:
            # Keep the connection: listings and sync of readable rows still work.
            self._problem = StoreUnavailable("key_missing", key_id=", ".join(missing))

    def _missing_keys(self, conn: sqlite3.Connection) -> list[str]:
        used = {r[0] for r in conn.execute("SELECT DISTINCT key_id FROM cases")}
        used |= {KeyRing.key_id_of(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE payload IS NOT NULL"
                                                                " AND state = 'pending'")}
        current = self.keys.current_id(create=False)
        if current:
            used.add(current)
        return sorted(k for k in used if not self.keys.has_key(k))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._problem is not None and self._problem.reason == "corrupt":
                raise self._problem
            self._open()
        return self._conn  # type: ignore[return-value]

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; storage failures become StoreUnavailable and
        leave the store marked as not accepting."""
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError, KeyMissing) as exc:
                problem = unavailable_from(exc)
                if problem.reason != "io_error" or "locked" not in str(exc):
                    self._problem = problem
                log.error("case store write failed", extra={"reason": problem.reason, "detail": str(exc)})
                raise problem from exc

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs after every committed case or evaluation
        (the sync worker uses it to send at once)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for cb in list(self._listeners):
            try:
                cb()
            except Exception:  # a listener must never undo a committed case
                log.exception("case store listener failed")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def simulate_full_disk(self, full: bool = True) -> None:
        """Demo and test harnesses only: fill the store as a full disk would
        (marked as a failed commit would mark it), or give the room back."""
        with self._lock:
            (ballast.fill if full else ballast.release)(self._connection())
            if full:
                self._problem = StoreUnavailable("disk_full")

    # -- status ------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        return self._problem is None

    @property
    def problem(self) -> StoreUnavailable | None:
        return self._problem

    def recheck(self) -> bool:
        """Probe storage after a failure (a real write with page allocation,
        then removed); clears the problem when it succeeds."""
        if self._problem is None:
            return True
        if self._problem.reason == "corrupt":
            return False
        if self._problem.reason == "key_missing":
            with self._lock:
                missing = self._missing_keys(self._connection())
            if missing:
                self._problem = StoreUnavailable("key_missing", key_id=", ".join(missing))
                return False
        if self.read_only_view:
            with self._lock:
                self.close()
                try:
                    self._open_or_read_only()
                except StoreUnavailable as exc:
                    self._problem = exc
                    return False
                if self.read_only_view:
                    return False
        try:
            with self._tx() as conn:
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('probe', ?)", ("x" * 16384,))
            with self._tx() as conn:
                conn.execute("DELETE FROM meta WHERE key = 'probe'")
            self.keys.current_id()
        except (StoreUnavailable, OSError) as exc:
            self._problem = unavailable_from(exc)
            return False
        self._problem = None
        log.info("case store accepting cases again")
        return True

    def health(self) -> dict:
        """Status for screens, heartbeat and ``kiosk health``."""
        if self._problem is not None:
            self.recheck()
        out: dict[str, Any] = {
            "ok": self._problem is None,
            "accepting": self._problem is None,
            "state": "ok" if self._problem is None else self._problem.reason,
            "message": (self._problem.message if self._problem else text("cases.store.ok")).as_dict(),
            "path": str(self.path),
            "schema_version": self.schema_version,
            "integrity": self.integrity,
        }
        try:
            usage = shutil.disk_usage(self.data_dir)
            out["free_bytes"] = usage.free
        except OSError:
            out["free_bytes"] = None
        if self._problem is None or self._problem.reason != "corrupt":
            try:
                out.update(self.stats())
            except StoreUnavailable:
                pass
        return out

    def integrity_check(self) -> str:
        with self._lock:
            rows = self._connection().execute("PRAGMA integrity_check").fetchall()
        return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])

    # -- writing cases -----------------------------------------------------
    def commit_case(self, service: str, applicant: dict, result: dict, document_hash: str | None = None,
                    evaluation: dict | None = None, agent: dict | None = None,
                    extra: dict | None = None) -> CaseRecord:
        """Commit a case and its outbox entry durably; raises StoreUnavailable
        (tell the resident the case could not be saved) or ValueError (bad data)."""
        if not isinstance(service, str) or not service:
            raise ValueError("service must be a non-empty string")
        applicant_clean = clean_person(applicant) or {}
        agent_clean = clean_person(agent)
        now = self.clock()
        ev = None
        if evaluation is not None:
            ev = normalise_evaluation(evaluation.get("level"), evaluation.get("reasons"),
                                       evaluation.get("comment"), now)
        case_id = str(uuid.uuid4())
        key = str(uuid.uuid4())
        summary = case_json({
            "applicant": mask_mapping(applicant_clean),
            "agent": mask_mapping(agent_clean) if agent_clean else None,
            "result": mask_mapping(result or {}),
            "extra": mask_mapping(extra or {}),
        }).decode("utf-8")
        body = {
            "case_id": case_id, "terminal_id": self.terminal_id, "service": service,
            "created_at": iso_utc(now), "applicant": applicant_clean, "agent": agent_clean,
            "result": result or {}, "document_hash": document_hash, "evaluation": ev,
            "extra": extra or {},
        }
        case_json(body)  # reject unserialisable values before touching the disk
        if self._problem is not None and not self.recheck():
            raise self._problem
        with self._tx() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'cases'").fetchone()
            seq = (row[0] if row else 0) + 1
            day = iso_utc(now)[2:10].replace("-", "") if now > 0 else "000000"
            ref = f"{self.terminal_id}-{day}-{seq:06d}"
            body["seq"], body["ref"] = seq, ref
            kid, blob = self.keys.encrypt(case_json(body), case_id.encode())
            conn.execute(
                "INSERT INTO cases(seq, case_id, ref, service, terminal_id, created_at, key_id, body, summary,"
                " document_hash, evaluation) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (seq, case_id, ref, service, self.terminal_id, now, kid, blob, summary, document_hash,
                 json.dumps(ev, ensure_ascii=False) if ev else None))
            conn.execute("INSERT INTO outbox(case_id, kind, idempotency_key, created_at) VALUES (?,?,?,?)",
                         (case_id, "case", key, now))
        self._notify()
        return CaseRecord(case_id, ref, seq, service, now, key)

    def set_evaluation(self, case_id: str, level: int, reasons: list[str] | tuple = (),
                       comment: str | None = None) -> dict:
        """Record the one rating of a case (5 very satisfied ... 1 very
        dissatisfied; reasons required for 1 and 2). Returns
        ``{"case_id", "level", "via"}`` with via ``case`` (travels in the case
        body) or ``update`` (its own outbox entry)."""
        now = self.clock()
        ev = normalise_evaluation(level, reasons, comment, now)
        with self._tx() as conn:
            row = conn.execute("SELECT evaluation, key_id, body FROM cases WHERE case_id = ?", (case_id,)).fetchone()
            if row is None:
                raise StoreError("cases.store.unknown_case", case_id=case_id)
            if row[0]:
                raise StoreError("cases.store.already_rated")
            entry = conn.execute("SELECT state, attempts FROM outbox WHERE case_id = ? AND kind = 'case'",
                                 (case_id,)).fetchone()
            conn.execute("UPDATE cases SET evaluation = ? WHERE case_id = ?",
                         (json.dumps(ev, ensure_ascii=False), case_id))
            if entry is not None and entry[0] == "pending" and entry[1] == 0:
                # Never sent: the body is not frozen yet, the rating rides along.
                body = json.loads(self.keys.decrypt(row[2], case_id.encode()))
                body["evaluation"] = ev
                kid, blob = self.keys.encrypt(case_json(body), case_id.encode())
                conn.execute("UPDATE cases SET body = ?, key_id = ? WHERE case_id = ?", (blob, kid, case_id))
                via = "case"
            else:
                key = str(uuid.uuid4())
                kid, blob = self.keys.encrypt(case_json({"case_id": case_id, **ev}), key.encode())
                dead = entry is not None and entry[0] == "dead"
                conn.execute(
                    "INSERT INTO outbox(case_id, kind, idempotency_key, payload, created_at, state, dead_reason)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (case_id, "evaluation", key, blob, now, "dead" if dead else "pending",
                     "case was refused by the central platform" if dead else None))
                via = "update"
        self._notify()
        return {"case_id": case_id, "level": ev["level"], "via": via}

    # -- sync side ---------------------------------------------------------
    def claim_batch(self, limit: int = 50) -> list[OutboxEntry]:
        """The oldest pending outbox entries (local sequence order), counted
        as attempted. From here on a case body is frozen."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT o.seq, o.case_id, o.kind, o.idempotency_key, o.payload, o.attempts, c.body"
                " FROM outbox o JOIN cases c ON c.case_id = o.case_id"
                " WHERE o.state = 'pending' ORDER BY o.seq LIMIT ?", (limit,)).fetchall()
            if rows:
                now = self.clock()
                conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE seq = ?",
                                 [(now, r[0]) for r in rows])
        entries, unreadable = [], []
        for seq, case_id, kind, key, payload, attempts, case_body in rows:
            try:
                if kind == "case":
                    body = self.keys.decrypt(case_body, case_id.encode())
                else:
                    body = self.keys.decrypt(payload, key.encode())
            except (KeyMissing, DecryptError) as exc:
                # Keep the entry pending: the key may come back from a backup.
                unreadable.append(Outcome(seq, "retry", reason=str(exc)))
                if isinstance(exc, KeyMissing):
                    self._problem = unavailable_from(exc)
                continue
            entries.append(OutboxEntry(seq, case_id, kind, key, body, attempts + 1))
        if unreadable:
            self.record_outcomes(unreadable)
        return entries

    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        """Apply send results in one transaction."""
        if not outcomes:
            return
        now = self.clock()
        with self._tx() as conn:
            for o in outcomes:
                row = conn.execute("SELECT case_id, kind, state FROM outbox WHERE seq = ?", (o.seq,)).fetchone()
                if row is None or row[2] != "pending":
                    continue  # purged meanwhile, or another process recorded it first
                case_id, kind, _ = row
                if o.result == "sent":
                    conn.execute("UPDATE outbox SET state = 'sent', sent_at = ?, http_status = ?, last_error = NULL"
                                 " WHERE seq = ?", (now, o.http_status, o.seq))
                    if kind == "case":
                        conn.execute("UPDATE cases SET status = 'synced', acked_at = ?, central = ? WHERE case_id = ?",
                                     (now, json.dumps(o.receipt or {}, ensure_ascii=False), case_id))
                elif o.result == "dead":
                    conn.execute("UPDATE outbox SET state = 'dead', dead_reason = ?, http_status = ? WHERE seq = ?",
                                 (o.reason, o.http_status, o.seq))
                    if kind == "case":
                        conn.execute("UPDATE cases SET status = 'dead' WHERE case_id = ?", (case_id,))
                        conn.execute("UPDATE outbox SET state = 'dead', dead_reason = ? WHERE case_id = ?"
                                     " AND kind = 'evaluation' AND state = 'pending'",
                                     ("case was refused by the central platform", case_id))
                    log.warning("outbox entry dead-lettered", extra={"case_id": case_id, "kind": kind,
                                                                     "status": o.http_status, "reason": o.reason})
                else:
                    conn.execute("UPDATE outbox SET last_error = ?, http_status = ? WHERE seq = ?",
                                 (o.reason, o.http_status, o.seq))

    def requeue_dead(self, seq: int | None = None) -> int:
        """Put dead-lettered entries back in the queue (after the operator
        fixed the cause); returns how many."""
        with self._tx() as conn:
            where, args = ("state = 'dead'", ()) if seq is None else ("state = 'dead' AND seq = ?", (seq,))
            cases = [r[0] for r in conn.execute(f"SELECT case_id FROM outbox WHERE {where} AND kind = 'case'", args)]
            n = conn.execute(f"UPDATE outbox SET state = 'pending', dead_reason = NULL WHERE {where}", args).rowcount
            conn.executemany("UPDATE cases SET status = 'pending' WHERE case_id = ?", [(c,) for c in cases])
        return n

    def purge_expired(self, now: float | None = None) -> int:
        """Delete cases acknowledged by central more than retention_days ago
        (together with their outbox entries). Nothing unacknowledged goes."""
        now = self.clock() if now is None else now
        limit = now - self.retention_days * 86400
        with self._tx() as conn:
            # An acknowledgement stamped in the future means the clock was
            # wrong then: count the retention period from now instead.
            conn.execute("UPDATE cases SET acked_at = ? WHERE status = 'synced' AND acked_at > ?", (now, now + 86400))
            n = conn.execute(
                "DELETE FROM cases WHERE status = 'synced' AND acked_at <= ? AND NOT EXISTS"
                " (SELECT 1 FROM outbox o WHERE o.case_id = cases.case_id AND o.state != 'sent')", (limit,)).rowcount
            if n:
                conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'purged'", (n,))
        return n

    # -- reading -----------------------------------------------------------
    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                problem = unavailable_from(exc)
                if problem.reason == "corrupt":
                    self._problem = problem
                raise problem from exc

    def stats(self) -> dict:
        counts = dict(self._read("SELECT status, COUNT(*) FROM cases GROUP BY status"))
        outbox = dict(self._read("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
        oldest = self._read("SELECT MIN(created_at) FROM outbox WHERE state = 'pending'")[0][0]
        purged = self._read("SELECT value FROM meta WHERE key = 'purged'")
        last_ack = self._read("SELECT MAX(acked_at) FROM cases")[0][0]
        return {
            "pending": counts.get("pending", 0),
            "synced": counts.get("synced", 0),
            "dead": outbox.get("dead", 0),
            "outbox": outbox.get("pending", 0),
            "cases": sum(counts.values()),
            "oldest_pending_at": iso_utc(oldest) if oldest is not None else None,
            "purged": int(purged[0][0]) if purged else 0,
            "last_acked_at": iso_utc(last_ack) if last_ack is not None else None,
        }

    _LIST_COLS = ("c.seq, c.case_id, c.ref, c.service, c.created_at, c.status, c.summary, c.document_hash,"
                  " c.evaluation, c.acked_at, o.attempts, o.last_error, o.dead_reason, o.http_status")

    def _row_dict(self, row: tuple) -> dict:
        (seq, case_id, ref, service, created_at, status, summary, doc, ev, acked, attempts, err, dead, http) = row
        s = json.loads(summary)
        return {"seq": seq, "case_id": case_id, "ref": ref, "service": service, "created_at": iso_utc(created_at),
                "status": status, "applicant": s["applicant"], "agent": s["agent"], "result": s["result"],
                "extra": s["extra"], "document_hash": doc, "evaluation": json.loads(ev) if ev else None,
                "acked_at": iso_utc(acked) if acked else None, "attempts": attempts, "last_error": err,
                "dead_reason": dead, "http_status": http}

    def list_cases(self, status: str | None = None, limit: int = 200, offset: int = 0) -> list[dict]:
        """Cases with personal fields masked, newest first."""
        where, args = ("WHERE c.status = ?", (status,)) if status else ("", ())
        rows = self._read(f"SELECT {self._LIST_COLS} FROM cases c JOIN outbox o ON o.case_id = c.case_id"
                          f" AND o.kind = 'case' {where} ORDER BY c.seq DESC LIMIT ? OFFSET ?",
                          args + (limit, offset))
        return [self._row_dict(r) for r in rows]

    def dead_letters(self) -> list[dict]:
        """Every dead-lettered outbox entry with its reason (masked)."""
        rows = self._read(
            "SELECT o.seq, o.case_id, c.ref, c.service, o.kind, o.idempotency_key, o.http_status, o.dead_reason,"
            " o.attempts, o.created_at FROM outbox o JOIN cases c ON c.case_id = o.case_id"
            " WHERE o.state = 'dead' ORDER BY o.seq")
        return [{"outbox_seq": r[0], "case_id": r[1], "ref": r[2], "service": r[3], "kind": r[4],
                 "idempotency_key": r[5], "http_status": r[6], "reason": r[7], "attempts": r[8],
                 "created_at": iso_utc(r[9])} for r in rows]

    def find_by_ref(self, ref: str) -> dict | None:
        """The case with this printed reference (case-insensitive), masked."""
        rows = self._read(f"SELECT {self._LIST_COLS} FROM cases c JOIN outbox o ON o.case_id = c.case_id"
                          " AND o.kind = 'case' WHERE c.ref = ? COLLATE NOCASE", (ref.strip(),))
        return self._row_dict(rows[0]) if rows else None

    def get_case(self, case_id: str, reveal: bool = False) -> dict | None:
        """One case; ``reveal=True`` decrypts the full body (reprints, the
        operator's tools) and adds it under ``body``."""
        rows = self._read(f"SELECT {self._LIST_COLS}, c.body FROM cases c JOIN outbox o ON o.case_id = c.case_id"
                          " AND o.kind = 'case' WHERE c.case_id = ?", (case_id,))
        if not rows:
            return None
        out = self._row_dict(rows[0][:-1])
        if reveal:
            try:
                out["body"] = json.loads(self.keys.decrypt(rows[0][-1], case_id.encode()))
            except KeyMissing as exc:
                raise unavailable_from(exc) from exc
        return out

    def keys_in_use(self) -> dict[str, int]:
        rows = self._read("SELECT key_id, COUNT(*) FROM cases GROUP BY key_id")
        counts = dict(rows)
        for (payload,) in self._read("SELECT payload FROM outbox WHERE payload IS NOT NULL"):
            kid = KeyRing.key_id_of(payload)
            counts[kid] = counts.get(kid, 0) + 1
        return counts

    def rotate_key(self, reencrypt: bool = True, retire: bool = False) -> dict:
        """Make a new key current; optionally re-encrypt every row under it and
        delete key files no row uses any more. Returns a summary."""
        new = self.keys.rotate()
        reencrypted = 0
        if reencrypt:
            with self._tx() as conn:
                for case_id, blob in conn.execute("SELECT case_id, body FROM cases WHERE key_id != ?",
                                                  (new,)).fetchall():
                    _, fresh = self.keys.encrypt(self.keys.decrypt(blob, case_id.encode()), case_id.encode(), new)
                    conn.execute("UPDATE cases SET body = ?, key_id = ? WHERE case_id = ?", (fresh, new, case_id))
                    reencrypted += 1
                for seq, key, blob in conn.execute(
                        "SELECT seq, idempotency_key, payload FROM outbox WHERE payload IS NOT NULL").fetchall():
                    if KeyRing.key_id_of(blob) != new:
                        _, fresh = self.keys.encrypt(self.keys.decrypt(blob, key.encode()), key.encode(), new)
                        conn.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (fresh, seq))
                        reencrypted += 1
        retired = []
        if retire:
            used = self.keys_in_use()
            for kid in self.keys.key_ids():
                if kid != new and not used.get(kid):
                    self.keys.retire(kid)
                    retired.append(kid)
        from kiosk.core.audit import record_at

        record_at(self.data_dir, self.terminal_id, "key_rotated", key="case", current=new,
                  reencrypted=reencrypted, retired=retired)
        return {"current": new, "reencrypted": reencrypted, "retired": retired, "keys": self.keys.key_ids()}


__all__ = ["CaseStore", "CaseRecord", "OutboxEntry", "Outcome", "StoreUnavailable", "StoreError",
           "LATEST"]
