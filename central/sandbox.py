"""The platform's state and its storage rules: exactly-once reception of
cases and evaluations, terminals and their signed config, payments and the
verification of receipts and certificates. The routers (``central/routes``)
call into one ``Sandbox`` per app.

Exactly-once reception: every mutating request carries an ``Idempotency-Key``.
The key, a hash of the canonical body and the original response are stored in
the SAME transaction as the case, under a unique key, so:

- same key + same body  -> the original response again (counted as a rejected duplicate),
- same key + other body -> 422 ``idempotency_key_reused``,
- same key while the first request is still being processed -> 409 ``in_progress``,

and a crash at any point leaves either nothing (the client retries) or the
case together with its key (the retry gets the original answer).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse

from . import demo_data, metrics, rollups
from . import report as availability_report
from .auth import Caller, TerminalAuth, load_signing_key
from .common import BadRequest, canonical, err, error, iso, json_object, validate
from .db import Database, Tx
from .faults import Faults
from .models import BatchIn, CaseIn, EvaluationIn
from .phones import PhoneBook

log = logging.getLogger(__name__)

RAW_KEEP_S = 8 * 86400.0  # raw heartbeats kept (the 7-day report reads rollups; a day more for --at)
PRUNE_EVERY_S = 600.0     # how often a server process prunes them


class Sandbox:
    """State of one sandbox server."""

    def __init__(self, db_url: str, faults: Faults | None = None,
                 auto_pay_s: float = 3.0, clock: Callable[[], float] = time.time,
                 report_stale_s: float = availability_report.DEFAULT_STALE_S, deployment_ca: str | None = None,
                 raw_keep_s: float = RAW_KEEP_S, state_dir: str | None = None):
        self.db = Database(db_url, state_dir=state_dir)
        self.raw_keep_s = raw_keep_s
        self._pruned_at = 0.0
        self.deployment_ca_path = Path(deployment_ca) if deployment_ca else None
        self.auth = TerminalAuth(self.db.state_dir)
        self.phones = PhoneBook()
        self.faults = faults or Faults.from_env()
        self.auto_pay_s = auto_pay_s
        self.clock = clock
        self.report_stale_s = report_stale_s
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()
        self._signing_key = self._load_signing_key()

    # -- config signing key (published for terminals that embed the sandbox) --
    def _load_signing_key(self):
        d = self.db.state_dir
        return load_signing_key(d / "config-signing.key", d / "config-signing.pub")

    # -- identity: a terminal acts only as itself -----------------------------
    def owner(self, tx: Tx, case_id: str) -> str | None:
        row = tx.one("SELECT terminal_id FROM cases WHERE case_id = ?", (case_id,))
        return row[0] if row else None

    def refuse(self, caller: Caller | None, action: str, reason: str) -> JSONResponse:
        """403 for a request outside the caller's own terminal; logged, counted and audited."""
        who = "operator" if caller is not None and caller.operator else (caller.terminal if caller else "?")
        log.warning("cross-terminal request refused", extra={"caller": who, "action": action, "reason": reason})
        with self.db.transaction() as tx:
            self._audit_refusal(tx, who, action, reason)
        return err(403, "forbidden_terminal", f"{reason}: a terminal acts only as itself")

    # -- in-flight keys: concurrent duplicates get 409 ----------------------
    def claim(self, keys: list[str]) -> set[str]:
        with self._inflight_lock:
            free = {k for k in keys if k not in self._inflight}
            self._inflight |= free
            return free

    def release(self, keys: set[str]) -> None:
        with self._inflight_lock:
            self._inflight -= keys

    def hold(self) -> None:
        self.faults.hold()

    # -- idempotent processing ----------------------------------------------
    def idempotent(self, tx: Tx, endpoint: str, terminal_id: str, key: str, raw: Any,
                   work: Callable[[Tx], tuple[int, dict]]) -> tuple[int, dict, bool]:
        digest = hashlib.sha256(endpoint.encode() + b"\0" + canonical(raw)).hexdigest()
        row = tx.one("SELECT body_hash, status, response FROM idempotency WHERE key = ?", (key,))
        if row is not None:
            if row[0] != digest:
                tx.count("key_conflicts")
                return 422, error("idempotency_key_reused",
                                  "this Idempotency-Key was used with a different request body"), False
            tx.count("duplicates_rejected")
            return int(row[1]), json.loads(row[2]), True
        status, response = work(tx)
        if status < 500 and status not in (403, 409):
            tx.run("INSERT INTO idempotency(key, terminal_id, endpoint, body_hash, status, response, created_at)"
                   " VALUES (?,?,?,?,?,?,?)", (key, terminal_id, endpoint, digest, status,
                                               json.dumps(response, ensure_ascii=False), self.clock()))
        return status, response, False

    def run_single(self, endpoint: str, terminal_id: str, key: str, raw: Any,
                   work: Callable[[Tx], tuple[int, dict]]) -> JSONResponse:
        claimed = self.claim([key])
        if not claimed:
            with self.db.transaction() as tx:
                tx.count("in_progress_rejected")
            return err(409, "in_progress", "a request with this Idempotency-Key is still being processed",
                       headers={"Retry-After": "1"})
        try:
            self.hold()
            # Another server process storing the same key at the same moment makes
            # this transaction fail on the unique key; run again, it answers from the winner's row.
            status, response, replayed = self.db.retrying(
                lambda tx: self.idempotent(tx, endpoint, terminal_id, key, raw, work))
        finally:
            self.release(claimed)
        if not replayed and status < 300:
            metrics.INGESTED.labels(endpoint.split(":")[0]).inc()
        if not replayed and status < 300 and self.faults.fail_after_commit():
            return err(500, "injected_after_commit", "sandbox fault: stored, then failed")
        return JSONResponse(response, status_code=status,
                            headers={"Idempotent-Replayed": "true"} if replayed else None)

    # -- work functions ------------------------------------------------------
    def store_case(self, tx: Tx, key: str, case: CaseIn, raw: dict) -> tuple[int, dict]:
        if tx.one("SELECT 1 FROM cases WHERE case_id = ?", (case.case_id,)):
            return 422, error("case_id_reused", "this case id was already received under another Idempotency-Key")
        now = self.clock()
        no = tx.bump("central_no")
        tx.run("INSERT INTO cases(case_id, central_no, terminal_id, seq, ref, service, created_at, body, received_at,"
               " idempotency_key) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (case.case_id, no, case.terminal_id, case.seq, case.ref, case.service, case.created_at,
                canonical(raw).decode("utf-8"), now, key))
        tx.count("cases")
        self._register_document(tx, case.case_id, raw)
        if case.evaluation is not None:
            self._insert_evaluation(tx, f"{key}#case", case.case_id, raw["evaluation"], now)
        self.register_terminal(tx, case.terminal_id)
        return 201, {"case_id": case.case_id, "ref": case.ref, "central_no": no,
                     "central_ref": f"C{no:010d}", "received_at": iso(now), "status": "received"}

    @staticmethod
    def _register_document(tx: Tx, case_id: str, raw: dict) -> None:
        """A certificate the case issued, findable by its serial (the QR code names it)."""
        doc = (raw.get("result") or {}).get("certificate") if isinstance(raw.get("result"), dict) else None
        if not isinstance(doc, dict) or not isinstance(doc.get("serial"), str) or not 1 <= len(doc["serial"]) <= 64:
            return
        keep = {k: str(doc[k])[:200] for k in ("type", "serial", "holder", "result", "issued", "valid_until")
                if doc.get(k) is not None}
        tx.run("INSERT INTO documents(serial, case_id, body) VALUES (?,?,?) ON CONFLICT (serial) DO NOTHING",
               (doc["serial"], case_id, json.dumps(keep, ensure_ascii=False)))

    def verify(self, ref: str) -> dict | None:
        """What a third party may learn about a receipt's case or a certificate: status and masked fields."""
        from kiosk.core.masking import mask_holder

        with self.db.transaction() as tx:
            doc = tx.one("SELECT case_id, body FROM documents WHERE serial = ?", (ref,))
            row = tx.one("SELECT body FROM cases WHERE case_id = ?", (doc[0],)) if doc else \
                tx.one("SELECT body FROM cases WHERE ref = ?", (ref,))
        if row is None:
            return None
        case = json.loads(row[0])
        applicant = case.get("applicant") or {}
        out = {"ref": ref, "kind": "certificate" if doc else "case", "service": case.get("service"),
               "terminal_id": case.get("terminal_id"), "created_at": case.get("created_at"),
               "holder": mask_holder(str(applicant.get("name") or ""), str(applicant.get("id_number") or ""))}
        if doc:
            cert = json.loads(doc[1])
            until = cert.get("valid_until") or ""
            try:
                expired = dt.datetime.fromtimestamp(self.clock()) > dt.datetime.fromisoformat(until)
            except ValueError:
                expired = False
            out.update(status="expired" if expired else "valid",
                       certificate={k: cert.get(k) for k in ("type", "serial", "result", "issued", "valid_until")})
        else:
            out["status"] = "recorded"
        return out

    def deployment_ca(self) -> bytes | None:
        """The deployment CA certificate: given, ``deployment-ca.pem`` beside the database, or the
        terminal's own signing folder when the sandbox is embedded in a terminal's data dir."""
        state = self.db.state_dir
        for path in ([self.deployment_ca_path] if self.deployment_ca_path else []) + \
                [state / "deployment-ca.pem", state.parent / "signing" / "ca.pem"]:
            if path and path.is_file():
                return path.read_bytes()
        return None

    def _insert_evaluation(self, tx: Tx, key: str, case_id: str, ev: dict, now: float) -> None:
        tx.run("INSERT INTO evaluations(case_id, level, body, received_at, idempotency_key) VALUES (?,?,?,?,?)",
               (case_id, ev["level"], canonical(ev).decode("utf-8"), now, key))
        tx.count("evaluations")

    def store_evaluation(self, tx: Tx, key: str, case_id: str, raw: dict) -> tuple[int, dict]:
        if not tx.one("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)):
            return 409, error("case_unknown", "the case has not been received yet; send it first")
        now = self.clock()
        core = {k: raw.get(k) for k in ("level", "reasons", "comment")}
        row = tx.one("SELECT body, received_at FROM evaluations WHERE case_id = ?", (case_id,))
        if row is not None:
            old = json.loads(row[0])
            if {k: old.get(k) for k in core} != core:
                return 422, error("already_rated", "this case already has a different rating")
            return 200, {"case_id": case_id, "level": raw["level"], "received_at": iso(row[1]), "status": "recorded"}
        self._insert_evaluation(tx, key, case_id, raw, now)
        return 201, {"case_id": case_id, "level": raw["level"], "received_at": iso(now), "status": "recorded"}

    def register_terminal(self, tx: Tx, terminal_id: str) -> int:
        """The terminal's offline queue-number block, given on first contact."""
        row = tx.one("SELECT offline_block FROM terminals WHERE terminal_id = ?", (terminal_id,))
        if row:
            return row[0]
        # a sequence, not MAX()+1: terminals meeting central at once (several server
        # processes) wait on its row in turn instead of colliding on the unique block
        block = tx.bump("offline_blocks") - 1
        tx.run("INSERT INTO terminals(terminal_id, registered_at, offline_block) VALUES (?,?,?)"
               " ON CONFLICT (terminal_id) DO NOTHING", (terminal_id, self.clock(), block))
        return tx.one("SELECT offline_block FROM terminals WHERE terminal_id = ?", (terminal_id,))[0]

    def batch(self, terminal_id: str, batch: BatchIn, raw: dict) -> JSONResponse:
        keys = [item.idempotency_key for item in batch.items]
        claimed = self.claim(keys)
        try:
            self.hold()
            # All items in one transaction; one that another server process stored at the
            # same moment fails it on the unique key, and the rerun answers from its row.
            results, stored_any = self.db.retrying(
                lambda tx: self._batch_items(tx, terminal_id, batch, raw, claimed))
        finally:
            self.release(claimed)
        for item, result in zip(batch.items, results):
            if result["status"] < 300 and not result["replayed"]:
                metrics.INGESTED.labels("cases" if item.kind == "case" else "evaluation").inc()
        if stored_any and self.faults.fail_after_commit():
            return err(500, "injected_after_commit", "sandbox fault: stored, then failed")
        return JSONResponse({"results": results})

    def _batch_items(self, tx: Tx, terminal_id: str, batch: BatchIn, raw: dict,
                     claimed: set[str]) -> tuple[list[dict], bool]:
        results: list[dict] = []
        stored_any = False
        for item, item_raw in zip(batch.items, raw["items"]):
            key = item.idempotency_key
            if key not in claimed:
                tx.count("in_progress_rejected")
                results.append({"idempotency_key": key, "status": 409, "replayed": False,
                                "response": error("in_progress", "still being processed")})
                continue
            try:
                if item.kind == "case":
                    case = validate(CaseIn, item.body)
                    if case.terminal_id != terminal_id:
                        results.append(self._refused_item(tx, key, f"case of terminal {case.terminal_id}",
                                                          terminal_id))
                        continue
                    work = lambda tx, case=case, key=key, body=item_raw["body"]: \
                        self.store_case(tx, key, case, body)
                    endpoint = "cases"
                else:
                    if not item.case_id:
                        raise BadRequest("an evaluation item needs case_id")
                    owner = self.owner(tx, item.case_id)
                    if owner is not None and owner != terminal_id:
                        results.append(self._refused_item(tx, key, "rating another terminal's case", terminal_id))
                        continue
                    validate(EvaluationIn, item.body)
                    work = lambda tx, cid=item.case_id, key=key, body=item_raw["body"]: \
                        self.store_evaluation(tx, key, cid, body)
                    endpoint = f"evaluation:{item.case_id}"
            except BadRequest as exc:
                results.append({"idempotency_key": key, "status": 400, "replayed": False,
                                "response": error("invalid_request", exc.message, details=exc.details)})
                continue
            status, response, replayed = self.idempotent(tx, endpoint, terminal_id, key, item_raw["body"], work)
            stored_any = stored_any or (status < 300 and not replayed)
            results.append({"idempotency_key": key, "status": status, "replayed": replayed, "response": response})
        return results, stored_any

    def _audit_refusal(self, tx: Tx, caller: str, action: str, reason: str) -> None:
        tx.count("cross_terminal_refused")
        tx.run("INSERT INTO refusals (at, caller, action, reason) VALUES (?, ?, ?, ?)",
                   (self.clock(), caller[:64], action[:128], reason[:256]))

    def refusals(self) -> list[dict]:
        """Central's audit of refused cross-terminal requests, oldest first."""
        with self.db.transaction() as tx:
            rows = tx.all("SELECT at, caller, action, reason FROM refusals ORDER BY at")
        return [{"at": iso(at), "caller": c, "action": a, "reason": r} for at, c, a, r in rows]

    def _refused_item(self, tx: Tx, key: str, reason: str, caller: str = "?") -> dict:
        log.warning("cross-terminal batch item refused", extra={"reason": reason})
        self._audit_refusal(tx, caller, "POST /v1/cases/batch item", reason)
        return {"idempotency_key": key, "status": 403, "replayed": False,
                "response": error("forbidden_terminal", f"{reason}: a terminal acts only as itself")}

    def stats(self) -> dict:
        return read_stats(self.db)

    # -- heartbeats ----------------------------------------------------------
    def heartbeat(self, terminal_id: str, raw: dict) -> dict:
        """Store one heartbeat (and the spans it backfills), fold the spans now
        final into the availability rollups; the acknowledgement."""
        now = self.clock()
        backfill = raw.pop("backfill", None) or []
        body = json.dumps(raw, ensure_ascii=False)
        sids = list(raw.get("services") or {})[:availability_report.MAX_SERVICES]

        def work(tx: Tx) -> tuple[int, int, float | None]:
            if tx.dialect == "postgresql":
                # A heartbeat is not a case: one lost in a server crash costs a few seconds of
                # figures, so its commit does not wait for the disk (rollups and the terminal
                # row still commit together or not at all).
                tx.run("SET LOCAL synchronous_commit = off")
            lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""  # one terminal's beats one at a time
            # sent together (pipelined on PostgreSQL: one round trip), read below
            terminal = tx.send(f"SELECT last_heartbeat_at, last_heartbeat FROM terminals WHERE terminal_id = ?{lock}",
                               (terminal_id,))
            services = tx.send("SELECT service, first_seen_at FROM terminal_services WHERE terminal_id = ?",
                               (terminal_id,))
            version = tx.send(CONFIG_VERSION, (terminal_id,))
            row, known, version = terminal.fetchone(), dict(services.fetchall()), 1 + int(version.fetchone()[0])
            if row is None:
                self.register_terminal(tx, terminal_id)
                row = (None, None)
            prev_at, prev_body = row
            spans = _backfill_beats(backfill, now=now, previous=prev_at)
            if prev_at is not None:
                rollups.store(tx, terminal_id, [availability_report.Beat(prev_at, json_object(prev_body))] + spans,
                              now, self.report_stale_s, known)
            tx.many("INSERT INTO heartbeats(terminal_id, received_at, body) VALUES (?,?,?)",
                    [(terminal_id, beat.at, json.dumps(beat.body, ensure_ascii=False)) for beat in spans]
                    + [(terminal_id, now, body)])
            tx.run("UPDATE terminals SET last_heartbeat_at = ?, last_heartbeat = ?,"
                   " first_heartbeat_at = COALESCE(first_heartbeat_at, ?) WHERE terminal_id = ?",
                   (now, body, now, terminal_id))
            new = [(terminal_id, sid, now) for sid in sids if sid not in known]
            if new:
                tx.many("INSERT INTO terminal_services(terminal_id, service, first_seen_at) VALUES (?,?,?)"
                        " ON CONFLICT (terminal_id, service) DO NOTHING", new)
            tx.count("heartbeats")
            return len(spans), version, prev_at

        accepted, version, previous = self.db.retrying(work, pipelined=True)
        metrics.INGESTED.labels("heartbeat").inc()
        if accepted:
            metrics.INGESTED.labels("backfilled_span").inc(accepted)
        if previous is not None and now >= previous:
            metrics.ROLLUP_LAG.observe(now - previous)
        self._maybe_prune(now)
        return {"terminal_id": terminal_id, "received_at": iso(now), "server_time": iso(now),
                "config_version": version, "backfilled": accepted}

    def _maybe_prune(self, now: float) -> None:
        """Raw heartbeats and hourly rollups older than ``raw_keep_s`` go (daily rollups keep the figures)."""
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with self.db.transaction() as tx:
            gone = tx.run("DELETE FROM heartbeats WHERE received_at < ?", (now - self.raw_keep_s,))
            # hourly rollups go with them (the 24-hour window reads them); daily rows stay
            tx.run("DELETE FROM availability_rollups WHERE span = ? AND bucket < ?",
                   (rollups.HOUR, now - self.raw_keep_s))
        if gone:
            log.info("raw heartbeats pruned", extra={"rows": gone, "kept_s": self.raw_keep_s})

    # -- terminal config (signed; see kiosk/core/remote_config.py) ----------------
    def terminal_config(self, terminal_id: str) -> dict:
        from kiosk.core.remote_config import sign_document

        def read(tx: Tx) -> tuple[int, dict]:
            # a terminal new to central gets the next offline block; two at once: the loser reruns
            return self.register_terminal(tx, terminal_id), {r[0]: r for r in tx.all(
                "SELECT target, version, config, updated_at FROM terminal_configs WHERE target IN ('*', ?)",
                (terminal_id,))}
        block, rows = self.db.retrying(read)
        merged: dict = {}
        version = 1
        for target in ("*", terminal_id):
            if target in rows:
                _, v, cfg, _ = rows[target]
                merged = _merge(merged, json.loads(cfg))
                version += v
        start = demo_data.OFFLINE_BASE + demo_data.OFFLINE_BLOCK * block
        doc = {
            "version": version,
            "issued_at": iso(self.clock()),   # signed now: terminals refuse stale copies
            "terminal": terminal_id,
            "config": merged,
            "queue_offline": {"block": block, "start": start, "end": start + demo_data.OFFLINE_BLOCK - 1},
        }
        return sign_document(doc, self._signing_key)

    def set_terminal_config(self, target: str, config: dict) -> dict:
        with self.db.transaction() as tx:
            row = tx.one("SELECT version FROM terminal_configs WHERE target = ?", (target,))
            version = (row[0] if row else 0) + 1
            tx.run("DELETE FROM terminal_configs WHERE target = ?", (target,))
            tx.run("INSERT INTO terminal_configs(target, version, config, updated_at) VALUES (?,?,?,?)",
                   (target, version, json.dumps(config, ensure_ascii=False), self.clock()))
        return {"target": target, "version": version}

    # -- payments ------------------------------------------------------------
    def payment(self, payment_id: str) -> dict | None:
        with self.db.transaction() as tx:
            row = tx.one("SELECT payment_id, case_ref, amount_cents, description, items, status, created_at, paid_at"
                         " FROM payments WHERE payment_id = ?", (payment_id,))
            if row is None:
                return None
            if row[5] == "pending" and self.auto_pay_s > 0 and self.clock() - row[6] >= self.auto_pay_s:
                self._mark_paid(tx, payment_id, json.loads(row[4]))
                return self.payment_view(tx.one("SELECT payment_id, case_ref, amount_cents, description, items,"
                                                " status, created_at, paid_at FROM payments WHERE payment_id = ?",
                                                (payment_id,)))
            return self.payment_view(row)

    def payment_view(self, row: tuple) -> dict:
        pid, ref, cents, desc, items, status, created, paid = row
        return {"payment_id": pid, "case_ref": ref, "amount_cents": cents, "amount": demo_data.yuan(cents),
                "description": desc, "items": json.loads(items), "status": status,
                "created_at": iso(created), "paid_at": iso(paid) if paid else None}

    def _mark_paid(self, tx: Tx, payment_id: str, items: list[str]) -> None:
        tx.run("UPDATE payments SET status = 'paid', paid_at = ? WHERE payment_id = ? AND status = 'pending'",
               (self.clock(), payment_id))
        for vid in items:
            tx.run("INSERT INTO paid_violations(violation_id, payment_id) VALUES (?, ?) ON CONFLICT (violation_id)"
                   " DO NOTHING", (vid, payment_id))

    def pay(self, payment_id: str) -> dict | None:
        with self.db.transaction() as tx:
            row = tx.one("SELECT items FROM payments WHERE payment_id = ?", (payment_id,))
            if row is None:
                return None
            self._mark_paid(tx, payment_id, json.loads(row[0]))
        return self.payment(payment_id)


CONFIG_VERSION = "SELECT COALESCE(SUM(version), 0) FROM terminal_configs WHERE target IN ('*', ?)"
STAT_COUNTERS = ("cases", "duplicates_rejected", "key_conflicts", "in_progress_rejected", "evaluations",
                 "heartbeats", "payments", "withdrawals", "queue_tickets", "cross_terminal_refused")


def _backfill_beats(spans: list, *, now: float, previous: float | None) -> list[availability_report.Beat]:
    """Spans a terminal kept while its heartbeats failed, placed by receive time
    ("started ``ago_s`` before this heartbeat"). Only the time since the
    terminal's previous heartbeat is taken: central never rewrites time it saw
    itself, and a heartbeat sent again (lost acknowledgement) adds nothing.
    Each span becomes one heartbeat holding its states for ``hold_s``."""
    if previous is None:
        return []  # before a terminal's first contact it was not in service
    out = []
    for span in spans:  # at most BACKFILL_MAX_SPANS: HeartbeatIn checked that
        start = max(now - float(span["ago_s"]), previous)
        end = min(now - float(span["ago_s"]) + float(span["seconds"]), now)
        if end - start < 1.0:
            continue
        out.append(availability_report.Beat(start, {"backfilled": True, "hold_s": round(end - start, 3),
                                                   "services": span.get("services") or {}}))
        previous = end  # spans never overlap one another either
    return out


def read_stats(db: Database) -> dict:
    with db.transaction() as tx:
        out = {name: tx.counter(name) for name in STAT_COUNTERS}
        out["cases_stored"] = tx.one("SELECT COUNT(*) FROM cases")[0]
        out["terminals"] = tx.one("SELECT COUNT(*) FROM terminals")[0]
    return out


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
