"""The central platform sandbox: the contract in ``openapi.yaml`` served by
FastAPI over a durable database (``central.db``).

Exactly-once reception: every mutating request carries an ``Idempotency-Key``.
The key, a hash of the canonical body and the original response are stored in
the SAME transaction as the case, under a unique key, so:

- same key + same body  -> the original response again (counted as a rejected duplicate),
- same key + other body -> 422 ``idempotency_key_reused``,
- same key while the first request is still being processed -> 409 ``in_progress``,

and a crash at any point leaves either nothing (the client retries) or the
case together with its key (the retry gets the original answer).

Sandbox-only extras, outside the contract: ``/v1/sandbox/*`` (fault
switches, paying a payment, setting terminal config) and ``/pay/{id}`` (the
page a resident's phone opens from the payment QR code).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
import uuid
from importlib import resources
from typing import Any, Callable, Literal
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.core import __version__
from kiosk.core.masking import mask_id_number, mask_mapping

from . import audit as central_audit
from . import demo_data
from . import report as availability_report
from .auth import AuthError, Caller, TerminalAuth, peer_common_name
from .db import Database, IntegrityError, Tx
from .phones import PhoneBook, RateLimited
from .faults import Faults

log = logging.getLogger(__name__)

MAX_BATCH = 500
UNFAULTED = ("/v1/sandbox", "/v1/health", "/v1/openapi.yaml", "/pay/")
# What third parties (a bank given a proof) may read without a terminal's credentials.
PUBLIC = ("/v1/health", "/v1/openapi.yaml", "/v1/verify/", "/v1/ca.pem")
BIG = 2 ** 53  # integers stay exact in every JSON reader


# -- request models (strict: "5" is not 5) ----------------------------------------

class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class EvaluationIn(_In):
    level: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=20)
    rated_at: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, max_length=500)


class CaseIn(_In):
    case_id: str = Field(min_length=1, max_length=64)
    ref: str = Field(min_length=1, max_length=128)
    terminal_id: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, le=BIG)
    service: str = Field(min_length=1, max_length=64)
    created_at: str = Field(min_length=1, max_length=64)
    applicant: dict
    agent: dict | None = None
    result: dict
    document_hash: str | None = Field(default=None, max_length=256)
    evaluation: EvaluationIn | None = None
    extra: dict = Field(default_factory=dict)


class BatchItem(_In):
    kind: Literal["case", "evaluation"]
    idempotency_key: str = Field(min_length=1, max_length=255)
    case_id: str = Field(default=None, min_length=1, max_length=64)  # absent is fine, null is not
    body: dict


class BatchIn(_In):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)


class DeviceStatusIn(_In):
    device: Literal["online", "offline", "hardwareError", "userError", "deviceBusy", "noDevice"] = None
    detail: dict = Field(default_factory=dict)
    message: dict = Field(default_factory=dict)
    timestamp: str = None
    last_error: str | None = None


class BackfillIn(_In):
    ago_s: float = Field(ge=0, le=availability_report.BACKFILL_MAX_S)
    seconds: float = Field(gt=0, le=availability_report.BACKFILL_MAX_S)
    services: dict = Field(default_factory=dict)


class HeartbeatIn(_In):
    software_version: str = Field(min_length=1, max_length=64)
    sent_at: str | None = Field(default=None, max_length=64)
    devices: dict[str, DeviceStatusIn] = Field(default_factory=dict)
    services: dict = Field(default_factory=dict)
    outbox: dict = Field(default_factory=dict)
    store: dict = Field(default_factory=dict)
    sync: dict = Field(default_factory=dict)
    backfill: list[BackfillIn] = Field(default_factory=list, max_length=availability_report.BACKFILL_MAX_SPANS)


class PersonQuery(_In):
    id_number: str = Field(min_length=15, max_length=18, pattern=r"^[0-9A-Za-z]+$")
    name: str | None = Field(default=None, max_length=64)


class RecordsQuery(PersonQuery):
    months: int = Field(ge=1, le=60)


class WithdrawalIn(PersonQuery):
    amount_cents: int = Field(ge=1, le=BIG)
    bank_card: str = Field(min_length=12, max_length=19, pattern=r"^[0-9]+$")
    case_ref: str = Field(min_length=1, max_length=128)
    purpose: str = Field(default="rent", max_length=32)


class PlateQuery(_In):
    plate: str = Field(min_length=7, max_length=8, pattern=demo_data.PLATE_RE.pattern)


class PaymentIn(_In):
    case_ref: str = Field(min_length=1, max_length=128)
    amount_cents: int = Field(ge=1, le=10_000_000)
    description: str = Field(default="", max_length=200)
    items: list[str] = Field(default_factory=list, max_length=50)


class TicketIn(_In):
    business: str = Field(min_length=1, max_length=32)
    terminal_id: str = Field(default=None, min_length=1, max_length=64)


# -- helpers --------------------------------------------------------------------

def error(code: str, message: str, **extra: Any) -> dict:
    return {"error": code, "message": message, **extra}


def err(status: int, code: str, message: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error(code, message, **extra), status_code=status, headers=headers)


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")


class BadRequest(Exception):
    def __init__(self, message: str, details: list | None = None):
        self.message = message
        self.details = details or []


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()[:10]]
        raise BadRequest("request body does not match the contract", details) from None


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw)
        canonical(data)  # lone surrogates cannot be stored: refuse them here
    except (ValueError, UnicodeError):
        raise BadRequest("body is not valid UTF-8 JSON") from None
    return data


class Sandbox:
    """State of one sandbox server."""

    def __init__(self, db_url: str, faults: Faults | None = None,
                 auto_pay_s: float = 3.0, clock: Callable[[], float] = time.time,
                 report_stale_s: float = availability_report.DEFAULT_STALE_S, deployment_ca: str | None = None):
        from pathlib import Path

        self.db = Database(db_url)
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
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        d = self.db.state_dir
        d.mkdir(parents=True, exist_ok=True)
        priv, pub = d / "config-signing.key", d / "config-signing.pub"
        if priv.exists():
            key = serialization.load_pem_private_key(priv.read_bytes(), password=None)
        else:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            tmp = priv.with_suffix(".tmp")
            tmp.write_bytes(pem)
            tmp.chmod(0o600)
            tmp.replace(priv)
        pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        if not pub.exists() or pub.read_bytes() != pub_pem:
            pub.write_bytes(pub_pem)
        return key

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
                tx.bump("key_conflicts")
                return 422, error("idempotency_key_reused",
                                  "this Idempotency-Key was used with a different request body"), False
            tx.bump("duplicates_rejected")
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
                tx.bump("in_progress_rejected")
            return err(409, "in_progress", "a request with this Idempotency-Key is still being processed",
                       headers={"Retry-After": "1"})
        try:
            self.hold()
            try:
                with self.db.transaction() as tx:
                    status, response, replayed = self.idempotent(tx, endpoint, terminal_id, key, raw, work)
            except IntegrityError:
                # Another server process stored the same key first: answer from it.
                with self.db.transaction() as tx:
                    status, response, replayed = self.idempotent(tx, endpoint, terminal_id, key, raw, work)
        finally:
            self.release(claimed)
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
        tx.bump("cases")
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
        tx.bump("evaluations")

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
        row = tx.one("SELECT offline_block FROM terminals WHERE terminal_id = ?", (terminal_id,))
        if row:
            return row[0]
        block = (tx.one("SELECT COALESCE(MAX(offline_block), -1) FROM terminals")[0]) + 1
        tx.run("INSERT INTO terminals(terminal_id, registered_at, offline_block) VALUES (?,?,?)",
               (terminal_id, self.clock(), block))
        return block

    def batch(self, terminal_id: str, batch: BatchIn, raw: dict) -> JSONResponse:
        keys = [item.idempotency_key for item in batch.items]
        claimed = self.claim(keys)
        results: list[dict] = []
        stored_any = False
        try:
            self.hold()
            with self.db.transaction() as tx:
                for item, item_raw in zip(batch.items, raw["items"]):
                    key = item.idempotency_key
                    if key not in claimed:
                        tx.bump("in_progress_rejected")
                        results.append({"idempotency_key": key, "status": 409, "replayed": False,
                                        "response": error("in_progress", "still being processed")})
                        continue
                    try:
                        if item.kind == "case":
                            case = _validate(CaseIn, item.body)
                            if case.terminal_id != terminal_id:
                                results.append(self._refused_item(tx, key, f"case of terminal {case.terminal_id}",
                                                                  terminal_id))
                                continue
                            work = lambda tx, case=case, key=key, body=item_raw["body"]: \
                                self.store_case(tx, key, case, body)  # noqa: E731
                            endpoint = "cases"
                        else:
                            if not item.case_id:
                                raise BadRequest("an evaluation item needs case_id")
                            owner = self.owner(tx, item.case_id)
                            if owner is not None and owner != terminal_id:
                                results.append(self._refused_item(tx, key, "rating another terminal's case", terminal_id))
                                continue
                            _validate(EvaluationIn, item.body)
                            work = lambda tx, cid=item.case_id, key=key, body=item_raw["body"]: \
                                self.store_evaluation(tx, key, cid, body)  # noqa: E731
                            endpoint = f"evaluation:{item.case_id}"
                    except BadRequest as exc:
                        results.append({"idempotency_key": key, "status": 400, "replayed": False,
                                        "response": error("invalid_request", exc.message, details=exc.details)})
                        continue
                    status, response, replayed = self.idempotent(tx, endpoint, terminal_id, key,
                                                                 item_raw["body"], work)
                    stored_any = stored_any or (status < 300 and not replayed)
                    results.append({"idempotency_key": key, "status": status, "replayed": replayed,
                                    "response": response})
        finally:
            self.release(claimed)
        if stored_any and self.faults.fail_after_commit():
            return err(500, "injected_after_commit", "sandbox fault: stored, then failed")
        return JSONResponse({"results": results})

    def _audit_refusal(self, tx: Tx, caller: str, action: str, reason: str) -> None:
        tx.bump("cross_terminal_refused")
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

    # -- terminal config (signed; see kiosk/core/remote_config.py) ----------------
    def terminal_config(self, terminal_id: str) -> dict:
        from kiosk.core.remote_config import sign_document

        with self.db.transaction() as tx:
            block = self.register_terminal(tx, terminal_id)
            rows = {r[0]: r for r in tx.all(
                "SELECT target, version, config, updated_at FROM terminal_configs WHERE target IN ('*', ?)",
                (terminal_id,))}
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


STAT_COUNTERS = ("cases", "duplicates_rejected", "key_conflicts", "in_progress_rejected", "evaluations",
                 "heartbeats", "payments", "withdrawals", "queue_tickets", "cross_terminal_refused")


def _store_backfill(tx, terminal_id: str, spans: list, *, now: float, previous: float | None) -> int:
    """Spans a terminal kept while its heartbeats failed, placed by receive time
    ("started ``ago_s`` before this heartbeat"). Only the time since the
    terminal's previous heartbeat is taken: central never rewrites time it saw
    itself, and a heartbeat sent again (lost acknowledgement) adds nothing.
    Each span becomes one heartbeat row holding its states for ``hold_s``."""
    if previous is None:
        return 0  # before a terminal's first contact it was not in service
    accepted = 0
    for span in spans:  # at most BACKFILL_MAX_SPANS: HeartbeatIn checked that
        start = max(now - float(span["ago_s"]), previous)
        end = min(now - float(span["ago_s"]) + float(span["seconds"]), now)
        if end - start < 1.0:
            continue
        body = {"backfilled": True, "hold_s": round(end - start, 3), "services": span.get("services") or {}}
        tx.run("INSERT INTO heartbeats(terminal_id, received_at, body) VALUES (?,?,?)",
               (terminal_id, start, json.dumps(body, ensure_ascii=False)))
        previous = end  # spans never overlap one another either
        accepted += 1
    return accepted


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


def contract_text() -> str:
    return (resources.files("central") / "openapi.yaml").read_text("utf-8")


def create_app(db_url: str, *, faults: Faults | None = None,
               auto_pay_s: float = 3.0, clock: Callable[[], float] = time.time,
               report_stale_s: float = availability_report.DEFAULT_STALE_S, demo: bool = True,
               deployment_ca: str | None = None) -> FastAPI:
    """The sandbox app; ``demo=False`` leaves out the sandbox-only controls."""
    sb = Sandbox(db_url, faults=faults, auto_pay_s=auto_pay_s, clock=clock,
                 report_stale_s=report_stale_s, deployment_ca=deployment_ca)
    app = FastAPI(title="Central platform sandbox", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.sandbox = sb

    # -- cross-cutting: errors, auth, faults ---------------------------------
    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest):
        return err(400, "invalid_request", exc.message, details=exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return err(400, "invalid_request", "request does not match the contract")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return err(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("sandbox request failed")
        return err(500, "internal_error", "the server failed while processing the request")

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        path = request.url.path
        if path.startswith("/v1/") and not path.startswith(PUBLIC):
            try:
                request.state.caller = sb.auth.identify(request.headers.get("authorization", ""),
                                                        peer_common_name(request.scope))
            except AuthError as exc:
                if exc.status == 403:
                    sb.refuse(None, f"{request.method} {path}", exc.message)
                return err(exc.status, exc.code, exc.message,
                           headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        if path.startswith("/v1/") and not path.startswith(UNFAULTED):
            if sb.faults.latency_ms > 0:
                import asyncio
                await asyncio.sleep(sb.faults.latency_ms / 1000)
            status = sb.faults.injected_status()
            if status is not None:
                headers = {"Retry-After": "1"} if status in (429, 503) else None
                return err(status, "injected_fault", f"sandbox fault: {status}", headers=headers)
        return await call_next(request)

    def visible_ascii(value: str) -> bool:
        return all(0x21 <= ord(c) <= 0x7E for c in value)

    def idem_key(request: Request) -> str:
        key = request.headers.get("idempotency-key", "")
        if not 1 <= len(key) <= 255 or not visible_ascii(key):
            raise BadRequest("the Idempotency-Key header is required (1-255 visible ASCII characters)")
        return key

    # -- meta ------------------------------------------------------------------
    @app.get("/v1/health")
    def health():
        return {"status": "ok", "version": __version__, "server_time": iso(sb.clock())}

    @app.get("/v1/openapi.yaml")
    def openapi():
        return Response(contract_text(), media_type="application/yaml")

    @app.get("/v1/stats")
    def stats():
        return sb.stats()

    # -- third parties: is this receipt or certificate genuine? (no credentials) -----------
    @app.get("/v1/verify/{ref}")
    def verify(ref: str, request: Request):
        view = sb.verify(ref) if 1 <= len(ref) <= 128 else None
        if "text/html" in request.headers.get("accept", ""):
            from .verify_page import render

            return HTMLResponse(render(ref, view), status_code=200 if view else 404)
        if view is None:
            return err(404, "not_found", "no case or certificate with this reference")
        return view

    @app.get("/v1/ca.pem")
    def ca_pem():
        pem = sb.deployment_ca()
        if pem is None:
            return err(404, "not_found", "no deployment CA certificate is published here")
        return Response(pem, media_type="application/x-pem-file")

    # -- cases -----------------------------------------------------------------
    @app.post("/v1/cases")
    async def post_case(request: Request):
        key = idem_key(request)
        raw = await _json_body(request)
        case = _validate(CaseIn, raw)
        caller: Caller = request.state.caller
        if not caller.may_act_as(case.terminal_id):
            return await run_in_threadpool(sb.refuse, caller, "POST /v1/cases", f"case of terminal {case.terminal_id}")
        return await run_in_threadpool(sb.run_single, "cases", case.terminal_id, key, raw,
                                       lambda tx: sb.store_case(tx, key, case, raw))

    @app.post("/v1/cases/batch")
    async def post_batch(request: Request):
        raw = await _json_body(request)
        batch = _validate(BatchIn, raw)
        terminal = request.headers.get("x-terminal-id", "")
        if len(terminal) > 64 or not visible_ascii(terminal):
            raise BadRequest("X-Terminal-Id must be at most 64 visible ASCII characters")
        caller: Caller = request.state.caller
        if not caller.may_act_as(terminal or caller.terminal):
            return await run_in_threadpool(sb.refuse, caller, "POST /v1/cases/batch", f"batch as terminal {terminal}")
        return await run_in_threadpool(sb.batch, caller.terminal, batch, raw)

    @app.get("/v1/cases/{case_id}")
    def get_case(case_id: str, request: Request):
        with sb.db.transaction() as tx:
            row = tx.one("SELECT body, central_no, received_at FROM cases WHERE case_id = ?", (case_id,))
            ev = tx.one("SELECT body FROM evaluations WHERE case_id = ?", (case_id,))
        if row is None:
            return err(404, "not_found", "no such case")
        body = json.loads(row[0])
        if not request.state.caller.may_read(body["terminal_id"]):
            return sb.refuse(request.state.caller, "GET /v1/cases/{id}", "reading another terminal's case")
        return {"case_id": case_id, "ref": body["ref"], "terminal_id": body["terminal_id"], "seq": body["seq"],
                "service": body["service"], "created_at": body["created_at"], "received_at": iso(row[2]),
                "central_no": row[1], "document_hash": body.get("document_hash"),
                "applicant": mask_mapping(body.get("applicant") or {}),
                "evaluation": json.loads(ev[0]) if ev else None}

    @app.put("/v1/cases/{case_id}/evaluation")
    async def put_evaluation(case_id: str, request: Request):
        key = idem_key(request)
        raw = await _json_body(request)
        _validate(EvaluationIn, raw)
        caller: Caller = request.state.caller

        def owner() -> str | None:
            with sb.db.transaction() as tx:
                return sb.owner(tx, case_id)
        found = await run_in_threadpool(owner)
        if found is not None and not caller.may_act_as(found):
            return await run_in_threadpool(sb.refuse, caller, "PUT /v1/cases/{id}/evaluation",
                                           "rating another terminal's case")
        return await run_in_threadpool(sb.run_single, f"evaluation:{case_id}", caller.terminal or "", key, raw,
                                       lambda tx: sb.store_evaluation(tx, key, case_id, raw))

    # -- terminals ---------------------------------------------------------------
    @app.post("/v1/terminals/{terminal_id}/heartbeat")
    async def heartbeat(terminal_id: str, request: Request):
        raw = await _json_body(request)
        _validate(HeartbeatIn, raw)
        if not request.state.caller.may_act_as(terminal_id):
            return await run_in_threadpool(sb.refuse, request.state.caller, "POST /v1/terminals/{id}/heartbeat",
                                           f"heartbeat as terminal {terminal_id}")

        def work():
            now = sb.clock()
            backfill = raw.pop("backfill", None) or []
            body = json.dumps(raw, ensure_ascii=False)
            with sb.db.transaction() as tx:
                sb.register_terminal(tx, terminal_id)
                previous = tx.one("SELECT last_heartbeat_at FROM terminals WHERE terminal_id = ?", (terminal_id,))[0]
                accepted = _store_backfill(tx, terminal_id, backfill, now=now, previous=previous)
                tx.run("INSERT INTO heartbeats(terminal_id, received_at, body) VALUES (?,?,?)",
                       (terminal_id, now, body))
                tx.run("UPDATE terminals SET last_heartbeat_at = ?, last_heartbeat = ? WHERE terminal_id = ?",
                       (now, body, terminal_id))
                for sid in list(raw.get("services") or {})[:availability_report.MAX_SERVICES]:
                    tx.run("INSERT INTO terminal_services(terminal_id, service, first_seen_at) VALUES (?,?,?)"
                           " ON CONFLICT (terminal_id, service) DO NOTHING", (terminal_id, sid, now))
                tx.bump("heartbeats")
            return {"terminal_id": terminal_id, "received_at": iso(now), "server_time": iso(now),
                    "config_version": sb.terminal_config(terminal_id)["version"], "backfilled": accepted}
        return await run_in_threadpool(work)

    central_audit.register(app, sb, In=_In, json_body=_json_body, validate=_validate, err=err, iso=iso)

    @app.get("/v1/terminals/{terminal_id}")
    def terminal(terminal_id: str, request: Request):
        if not request.state.caller.may_read(terminal_id):
            return sb.refuse(request.state.caller, "GET /v1/terminals/{id}", f"reading terminal {terminal_id}")
        with sb.db.transaction() as tx:
            row = tx.one("SELECT registered_at, offline_block, last_heartbeat_at, last_heartbeat FROM terminals"
                         " WHERE terminal_id = ?", (terminal_id,))
        if row is None:
            return err(404, "not_found", "no such terminal")
        return {"terminal_id": terminal_id, "registered_at": iso(row[0]), "offline_block": row[1],
                "last_heartbeat_at": iso(row[2]) if row[2] else None,
                "last_heartbeat": json.loads(row[3]) if row[3] else None}

    # -- availability report (GET /v1/report JSON, GET /report the operator's page) --
    def report_for(terminal: str | None, window: str) -> dict | None:
        data = availability_report.read_report(sb.db, now=sb.clock(), terminal=terminal, stale_s=sb.report_stale_s,
                                               windows=availability_report.window_names(window))
        return None if terminal is not None and not data["terminals"] else data

    @app.get("/v1/report")
    def report_json(request: Request, terminal: str | None = None,
                    window: Literal["24h", "7d", "both"] = "both"):
        unknown = sorted(set(request.query_params) - {"terminal", "window"})
        if unknown:  # a misspelt filter must not silently answer for every terminal
            raise BadRequest("unknown query parameter",
                             [{"loc": f"query.{name}", "msg": "not a parameter"} for name in unknown[:10]])
        data = report_for(terminal, window)
        return data if data is not None else err(404, "not_found", "no such terminal")

    @app.get("/report", response_class=HTMLResponse)
    def report_page(terminal: str | None = None, window: Literal["24h", "7d", "both"] = "both"):
        from .report_page import render

        data = report_for(terminal, window)
        if data is None:
            return HTMLResponse("<!doctype html><meta charset=utf-8><h1>未找到终端 / No such terminal</h1>",
                                status_code=404)
        return HTMLResponse(render(data))

    @app.get("/v1/terminals/{terminal_id}/config")
    def terminal_config(terminal_id: str, request: Request):
        if not request.state.caller.may_act_as(terminal_id):
            return sb.refuse(request.state.caller, "GET /v1/terminals/{id}/config",
                             f"fetching the config of terminal {terminal_id}")
        return sb.terminal_config(terminal_id)

    # -- service back-ends ---------------------------------------------------------
    def today() -> dt.date:
        return dt.datetime.fromtimestamp(sb.clock()).date()

    @app.post("/v1/services/property/query")
    async def property_query(request: Request):
        q = _validate(PersonQuery, await _json_body(request))
        return demo_data.property_query(q.id_number, q.name or "", today())

    @app.post("/v1/identity/phone")
    async def phone_on_record(request: Request):
        q = _validate(PersonQuery, await _json_body(request))
        caller: Caller = request.state.caller
        if caller.operator:
            return await run_in_threadpool(sb.refuse, caller, "POST /v1/identity/phone", "the operator is no terminal")
        try:
            return sb.phones.lookup(q.id_number, caller.terminal)
        except RateLimited as exc:
            log.warning("phone lookups rate-limited", extra={"scope": exc.scope, "terminal": caller.terminal})
            return err(429, "too_many_requests", str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)})

    @app.post("/v1/services/social-security/records")
    async def social_security(request: Request):
        q = _validate(RecordsQuery, await _json_body(request))
        return {"id_number_masked": mask_id_number(q.id_number),
                "records": demo_data.social_security_records(q.id_number, q.months, today())}

    @app.post("/v1/services/provident-fund/account")
    async def provident_fund(request: Request):
        q = _validate(PersonQuery, await _json_body(request))
        return demo_data.provident_fund_account(q.id_number, today())

    @app.post("/v1/services/provident-fund/withdrawals")
    async def withdrawal(request: Request):
        key = idem_key(request)
        raw = await _json_body(request)
        w = _validate(WithdrawalIn, raw)

        def work(tx: Tx) -> tuple[int, dict]:
            account = demo_data.provident_fund_account(w.id_number, today())
            if not account["eligible"]:
                return 422, error("not_eligible", "the account cannot be withdrawn from",
                                  reasons=account["reasons"])
            if w.amount_cents > account["max_withdrawal_cents"]:
                return 422, error("amount_too_large", "the amount exceeds what may be withdrawn",
                                  max_withdrawal_cents=account["max_withdrawal_cents"])
            wid = f"W{uuid.uuid4().hex[:16].upper()}"
            now = sb.clock()
            masked = mask_mapping(dict(raw, bank_card=w.bank_card, id_number=w.id_number))
            tx.run("INSERT INTO withdrawals(withdrawal_id, case_ref, amount_cents, body, created_at) VALUES (?,?,?,?,?)",
                   (wid, w.case_ref, w.amount_cents, json.dumps(masked, ensure_ascii=False), now))
            tx.bump("withdrawals")
            return 201, {"withdrawal_id": wid, "status": "accepted", "amount_cents": w.amount_cents,
                         "amount": demo_data.yuan(w.amount_cents), "bank_card_masked": masked["bank_card"],
                         "expected_arrival": (today() + dt.timedelta(days=3)).isoformat()}
        return await run_in_threadpool(sb.run_single, "withdrawals", "", key, raw, work)

    @app.post("/v1/services/traffic/violations")
    async def violations(request: Request):
        q = _validate(PlateQuery, await _json_body(request))
        items = demo_data.traffic_violations(q.plate, dt.datetime.fromtimestamp(sb.clock()))

        def mark():
            with sb.db.transaction() as tx:
                for v in items:
                    v["paid"] = tx.one("SELECT 1 FROM paid_violations WHERE violation_id = ?",
                                       (v["violation_id"],)) is not None
            return {"plate": q.plate, "violations": items}
        return await run_in_threadpool(mark)

    # -- payments ------------------------------------------------------------------
    @app.post("/v1/payments")
    async def create_payment(request: Request):
        raw = await _json_body(request)
        p = _validate(PaymentIn, raw)
        key = idem_key(request) if "idempotency-key" in request.headers else f"payment-{uuid.uuid4()}"
        base = str(request.base_url).rstrip("/")

        def work(tx: Tx) -> tuple[int, dict]:
            pid = f"P{uuid.uuid4().hex[:20].upper()}"
            now = sb.clock()
            tx.run("INSERT INTO payments(payment_id, case_ref, amount_cents, description, items, status, created_at)"
                   " VALUES (?,?,?,?,?,?,?)", (pid, p.case_ref, p.amount_cents, p.description,
                                               json.dumps(p.items), "pending", now))
            tx.bump("payments")
            return 201, {"payment_id": pid, "qr_text": f"{base}/pay/{pid}", "amount_cents": p.amount_cents,
                         "amount": demo_data.yuan(p.amount_cents), "status": "pending",
                         "expires_at": iso(now + 900)}
        return await run_in_threadpool(sb.run_single, "payments", "", key, raw, work)

    @app.get("/v1/payments/{payment_id}")
    def payment_status(payment_id: str):
        view = sb.payment(payment_id)
        return view if view is not None else err(404, "not_found", "no such payment")

    # -- queue -------------------------------------------------------------------
    def businesses(tx: Tx) -> list[dict]:
        day = today().isoformat()
        hour_ago = sb.clock() - 3600
        out = []
        for b in demo_data.BUSINESSES:
            recent = tx.one("SELECT COUNT(*) FROM queue_tickets WHERE business = ? AND day = ? AND issued_at >= ?",
                            (b["code"], day, hour_ago))[0]
            out.append({**b, "waiting": demo_data.queue_waiting_base(b["code"], day) + recent})
        return out

    @app.get("/v1/queue/businesses")
    def queue_businesses():
        with sb.db.transaction() as tx:
            return {"businesses": businesses(tx)}

    @app.post("/v1/queue/tickets")
    async def queue_ticket(request: Request):
        t = _validate(TicketIn, await _json_body(request))
        if t.terminal_id is not None and not request.state.caller.may_act_as(t.terminal_id):
            return await run_in_threadpool(sb.refuse, request.state.caller, "POST /v1/queue/tickets",
                                           f"ticket as terminal {t.terminal_id}")

        def work():
            by_code = {b["code"]: b for b in demo_data.BUSINESSES}
            b = by_code.get(t.business) or next((x for x in demo_data.BUSINESSES if x["prefix"] == t.business), None)
            if b is None:
                return err(404, "not_found", "no such business")
            day = today().isoformat()
            now = sb.clock()
            with sb.db.transaction() as tx:
                waiting = next(x["waiting"] for x in businesses(tx) if x["code"] == b["code"])
                n = tx.bump(f"queue:{b['code']}:{day}")
                n = (n - 1) % (demo_data.OFFLINE_BASE - 1) + 1   # online numbers never reach the offline ranges
                tid = f"Q{uuid.uuid4().hex[:16].upper()}"
                tx.run("INSERT INTO queue_tickets(ticket_id, business, day, number, terminal_id, issued_at)"
                       " VALUES (?,?,?,?,?,?)", (tid, b["code"], day, n, t.terminal_id or "", now))
                tx.bump("queue_tickets")
            return JSONResponse({"ticket_id": tid, "business": b["code"], "name_zh": b["name_zh"],
                                 "name_en": b["name_en"], "prefix": b["prefix"], "sequence": n,
                                 "number": f"{b['prefix']}{n:03d}", "waiting": waiting, "counters": b["counters"],
                                 "issued_at": iso(now)}, status_code=201)
        return await run_in_threadpool(work)

    # -- sandbox-only controls (not in the contract; demo mode only) ---------------------
    if demo:
        _sandbox_routes(app, sb)
    return app


def _sandbox_routes(app: FastAPI, sb: Sandbox) -> None:
    """Fault switches, paying a payment, setting terminal config and the /pay page:
    shortcuts of the demo that a production deployment never serves."""

    @app.get("/v1/sandbox/faults")
    def get_faults():
        return sb.faults.as_dict()

    @app.post("/v1/sandbox/faults")
    async def set_faults(request: Request):
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise BadRequest("faults must be a JSON object")
        sb.faults.update(data)
        return sb.faults.as_dict()

    @app.post("/v1/sandbox/payments/{payment_id}/pay")
    def sandbox_pay(payment_id: str):
        view = sb.pay(payment_id)
        return view if view is not None else err(404, "not_found", "no such payment")

    @app.put("/v1/sandbox/terminals/{target}/config")
    async def sandbox_config(target: str, request: Request):
        # a terminal may change only its own sandbox config; "*" and others need the operator
        if not request.state.caller.may_read(target) or (target == "*" and not request.state.caller.operator):
            return await run_in_threadpool(sb.refuse, request.state.caller, "PUT /v1/sandbox/terminals/{id}/config",
                                           f"setting the config of {target}")
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise BadRequest("config must be a JSON object")
        return sb.set_terminal_config(target, data)

    # The page a phone opens from the payment QR. Everything shown is escaped
    # (a description comes from a terminal) and the page forbids scripts; its
    # Pay button carries a per-payment token, so a bare or cross-site POST
    # cannot mark a payment paid.
    page_key = secrets.token_bytes(32)

    def pay_token(payment_id: str) -> str:
        return hmac.new(page_key, payment_id.encode(), hashlib.sha256).hexdigest()

    def page(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>沙箱支付</title>{body}", status_code=status,
                            headers={"Content-Security-Policy": "default-src 'none'; form-action 'self'; "
                                     "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
                                     "Referrer-Policy": "no-referrer"})

    not_found = "<h1>未找到支付单 / Payment not found</h1>"

    @app.get("/pay/{payment_id}", response_class=HTMLResponse)
    def pay_page(payment_id: str):
        view = sb.payment(payment_id)
        if view is None:
            return page(not_found, 404)
        state = "已支付 / Paid" if view["status"] == "paid" else "待支付 / Pending"
        return page(f"<h1>沙箱支付 / Sandbox payment</h1><p>{html.escape(str(view['description']))}</p>"
                    f"<p>¥{html.escape(str(view['amount']))}</p><p>{state}</p>"
                    f"<form method=post action='/pay/{html.escape(quote(payment_id, safe=''))}'>"
                    f"<input type=hidden name=token value='{pay_token(payment_id)}'>"
                    f"<button>确认支付 / Pay</button></form>")

    @app.post("/pay/{payment_id}", response_class=HTMLResponse)
    async def pay_submit(payment_id: str, request: Request):
        form = parse_qs((await request.body())[:4096].decode("ascii", "replace"))
        token = (form.get("token") or [""])[0]
        if not hmac.compare_digest(token.encode(), pay_token(payment_id).encode()):
            return page("<h1>请重新打开支付页面 / Open the payment page again</h1>", 403)
        view = await run_in_threadpool(sb.pay, payment_id)
        if view is None:
            return page(not_found, 404)
        return page("<h1>支付成功 / Paid</h1>")


def app_from_env() -> FastAPI:
    """For ``uvicorn central.app:app_from_env --factory``."""
    import os
    return create_app(os.environ.get("KIOSK_CENTRAL_DB", "sqlite:///central.db"),
                      demo=os.environ.get("KIOSK_MODE") == "demo")
