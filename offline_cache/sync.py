"""The sync worker: outbox -> central platform, exactly once per case.

One thread. Each pass claims the oldest pending outbox entries (local
sequence order), sends them under their own idempotency keys, and records
the outcome per entry in one transaction:

- 2xx (new or replayed)      -> sent; the case is synced;
- 409, 429, 5xx, network     -> stays pending; the worker backs off
                                (capped exponential, full jitter) and resumes
                                on its own, no new case needed;
- 401/403                    -> stays pending; the terminal's credentials are
                                wrong, which is not the case's fault;
- any other 4xx              -> dead-letter with the reason, visible in
                                ``kiosk cases list --dead`` and stats.

A crash between "central stored it" and "we recorded that" only means the
entry is sent again with the same key, and central answers with the original
receipt. A backlog goes out in batches (``POST /v1/cases/batch``), where each
item keeps its own key and outcome; a lone entry uses the single endpoints.

Heartbeats every ``heartbeat_s`` carry every device's common status and
per-service availability (from the app's ``status_provider``), outbox depth,
store health and the software version. A successful heartbeat while backing
off ends the backoff: the network is back.

While heartbeats cannot get through, the worker keeps what the terminal
offered as spans of unchanged service states (on the monotonic clock, so a
wall-clock step during the outage does not distort them). The next heartbeat
that gets through carries them as ``backfill`` ("seconds ago", length,
states), so the availability report can count the hours a terminal served
offline instead of blaming it for the network. The worker that reports
service states (the app's) also writes them to ``run/offline-availability.json``
in the data directory (service states only, nothing personal), so a restart
during an outage loses only the time the terminal was down.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.core import __version__
from kiosk.core.canonical import canonical_json
from kiosk.core.i18n import text

from .client import (
    CentralAuthError,
    CentralClient,
    CentralError,
    CentralRejected,
    CentralUnavailable,
    classify_status,
    response_json,
    retry_after,
)
from .store import CaseStore, OutboxEntry, Outcome, StoreUnavailable

log = logging.getLogger(__name__)

PURGE_EVERY_S = 600.0
AUDIT_BATCH = 200         # audit records per request
OFFLINE_SPANS_MAX = 500   # service-state changes kept while heartbeats fail (oldest dropped)
BACKFILL_MAX_AGE_S = 7 * 86400.0
OFFLINE_FILE = "offline-availability.json"


def _now_iso(clock: Callable[[], float]) -> str:
    try:
        return dt.datetime.fromtimestamp(clock(), dt.UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return ""


class PassResult(dict):
    """Summary of one pass: sent, replayed, dead, retry, batches, error."""

    @property
    def failed(self) -> bool:
        return bool(self.get("error"))


class SyncWorker:
    def __init__(self, store: CaseStore, client: CentralClient, *, interval_s: float = 2.0,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 60.0, batch_size: int = 50,
                 heartbeat_s: float = 30.0, status_provider: Callable[[], dict] | None = None,
                 version: str = __version__, send_cases: bool = True, send_heartbeats: bool = True,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.client = client
        self.interval_s = interval_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.batch_size = batch_size
        self.heartbeat_s = heartbeat_s
        self.status_provider = status_provider
        self.version = version
        self.send_cases = send_cases
        self.send_heartbeats = send_heartbeats
        self.rng = rng or random.Random()
        self.clock = clock
        self.monotonic = monotonic
        self._offline: list[dict] = []         # spans of service states while heartbeats fail
        # only the worker that knows service states keeps them across restarts (kiosk-sync does not)
        self._offline_path = store.data_dir / "run" / OFFLINE_FILE if status_provider is not None else None
        self._load_offline()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()          # one pass at a time (thread + CLI/tests)
        self._batch_supported = True
        self.failures = 0
        self.state = "idle"
        self.last_error: str | None = None
        self.last_success_at: str | None = None
        self.last_attempt_at: str | None = None
        self.last_heartbeat_at: str | None = None
        self.last_heartbeat_ok: bool | None = None
        self.clock_offset_s: float | None = None
        self.next_attempt_at = 0.0             # monotonic
        self.totals = {"sent": 0, "replayed": 0, "dead": 0}
        self.on_pass: Callable[[PassResult], None] | None = None
        self.audit = None                      # kiosk.core.audit.AuditLog, sent after the cases (attach_audit)
        self.audit_state: dict = {"sent": 0, "replayed": 0, "error": None}
        store.add_listener(self.wake)

    def attach_audit(self, audit) -> SyncWorker:
        self.audit = audit
        if self.wake not in audit.listeners:
            audit.listeners.append(self.wake)
        return self

    @classmethod
    def from_config(cls, config, store: CaseStore, client: CentralClient, **kw: Any) -> SyncWorker:
        s = config.get
        return cls(store, client, interval_s=float(s("sync.interval_s", 2.0)),
                   backoff_base_s=float(s("sync.backoff_base_s", 0.5)), backoff_cap_s=float(s("sync.backoff_cap_s",
                                                                                              60.0)),
                   batch_size=int(s("sync.batch_size", 50)), heartbeat_s=float(s("sync.heartbeat_s", 30.0)), **kw)

    # -- thread ---------------------------------------------------------------
    def start(self) -> SyncWorker:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="case-sync", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.audit is not None and self.wake in self.audit.listeners:
            self.audit.listeners.remove(self.wake)  # the audit log outlives this worker
        self.state = "stopped"

    def wake(self) -> None:
        """A case was committed: send soon (a running backoff is kept)."""
        if self.failures == 0:
            self.next_attempt_at = 0.0
        self._wake.set()

    def backoff_delay(self, retry_after: float | None = None) -> float:
        """Full jitter: uniform(0, min(cap, base * 2^failures)), at least Retry-After."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2 ** min(self.failures, 30)))
        delay = self.rng.uniform(0, ceiling)
        if retry_after:
            delay = max(delay, min(retry_after, self.backoff_cap_s))
        return delay

    def _run(self, tick: Callable[[], None] | None = None) -> None:
        next_heartbeat = time.monotonic() if self.send_heartbeats else float("inf")
        next_purge = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if tick:
                tick()
            if now >= next_purge:
                try:
                    self.store.purge_expired()
                except StoreUnavailable:
                    pass
                next_purge = now + PURGE_EVERY_S
            if now >= next_heartbeat:
                self.heartbeat_once()
                next_heartbeat = now + self.heartbeat_s
            if self.send_cases and time.monotonic() >= self.next_attempt_at:
                self._wake.clear()
                self.sync_once()
            wait = min(next_heartbeat, self.next_attempt_at if self.send_cases else float("inf"),
                       next_purge) - time.monotonic()
            if wait > 0:
                self._wake.wait(min(wait, 5.0) if tick else wait)

    def run_forever(self, tick: Callable[[], None] | None = None) -> None:
        """Run the loop on the calling thread until ``stop()`` (CLI daemon)."""
        self._stop.clear()
        self._run(tick)

    # -- sending -------------------------------------------------------------------
    def sync_once(self, max_batches: int | None = None) -> PassResult:
        """Send until the outbox is empty or a retryable failure; updates the
        backoff schedule. Safe to call from any thread."""
        with self._lock:
            result = self._pass(max_batches)
        now = time.monotonic()
        if result.failed:
            self.failures += 1
            delay = self.backoff_delay(result.get("retry_after"))
            self.next_attempt_at = now + delay
            result["next_attempt_in_s"] = round(delay, 3)
        else:
            self.failures = 0
            self.next_attempt_at = now + self.interval_s
            if result["sent"] or result["dead"] or result["batches"]:
                self.last_success_at = _now_iso(self.clock)
            if self.state not in ("auth_failed",):
                self.state = "idle"
            if self.audit is not None:
                result["audit"] = self.sync_audit()
        if self.on_pass:
            self.on_pass(result)
        return result

    def _pass(self, max_batches: int | None) -> PassResult:
        res = PassResult(sent=0, replayed=0, dead=0, retry=0, batches=0, error=None)
        self.last_attempt_at = _now_iso(self.clock)
        while max_batches is None or res["batches"] < max_batches:
            try:
                entries = self.store.claim_batch(self.batch_size if self._batch_supported else 1)
            except StoreUnavailable as exc:
                self.state, self.last_error = "store_unavailable", str(exc)
                res["error"] = str(exc)
                return res
            if not entries:
                break
            res["batches"] += 1
            if not self.failures:  # while retrying, status keeps saying why
                self.state = "syncing"
            outcomes, problem = self._send(entries)
            for o in outcomes:
                res[o.result] += 1
                if o.result == "sent" and o.receipt and o.receipt.pop("_replayed", False):
                    res["replayed"] += 1
            try:
                self.store.record_outcomes(outcomes)
            except StoreUnavailable as exc:
                # Sent but not recorded: the next pass resends under the same keys.
                self.state, self.last_error = "store_unavailable", str(exc)
                res["error"] = str(exc)
                return res
            for o in outcomes:
                if o.result in self.totals:
                    self.totals[o.result] += 1
            if problem is not None:
                res["error"] = problem.detail
                res["retry_after"] = problem.retry_after
                self.last_error = problem.detail
                self.state = "auth_failed" if problem.status in (401, 403, 407) else "offline"
                return res
            if any(o.result == "retry" for o in outcomes):
                # Items busy at central (409 in progress): come back after a short backoff.
                res["error"] = next(o.reason for o in outcomes if o.result == "retry")
                self.state = "offline"
                return res
        self.last_error = None
        return res

    def sync_audit(self, max_batches: int = 20) -> dict:
        """Send audit records central has not acknowledged; the mark is moved
        only after central's answer, so a crash means a resend, which central
        counts as a replay (each terminal and seq is stored once)."""
        state = self.audit_state
        for _ in range(max_batches):
            try:
                records = self.audit.pending(AUDIT_BATCH)
                if not records:
                    state["error"] = None
                    break
                answer = self.client.send_audit(records)
                self.audit.mark_synced(records[-1]["seq"])
            except CentralError as exc:
                if state["error"] != exc.detail:
                    log.warning("audit records not accepted by central", extra={"reason": exc.detail})
                state["error"] = exc.detail
                break
            except Exception as exc:  # audit store trouble must not stop case sync
                state["error"] = str(exc)
                break
            state["sent"] += int(answer.get("stored", 0))
            state["replayed"] += int(answer.get("replayed", 0))
        return dict(state)

    def _send(self, entries: list[OutboxEntry]) -> tuple[list[Outcome], CentralError | None]:
        """Send entries; returns per-entry outcomes and the request-level
        problem (None when central answered)."""
        if len(entries) > 1 and self._batch_supported:
            try:
                resp = self.client.send("POST", "/v1/cases/batch", data=_batch_body(entries))
            except CentralUnavailable as exc:
                return [Outcome(e.seq, "retry", reason=exc.detail) for e in entries], exc
            kind = classify_status(resp.status_code)
            if kind == "ok":
                return self._batch_outcomes(entries, resp), None
            if kind in ("retry", "auth"):
                problem = _problem(resp)
                return [Outcome(e.seq, "retry", resp.status_code, problem.detail) for e in entries], problem
            if resp.status_code in (404, 405, 501):
                self._batch_supported = False  # an older central without the batch endpoint
            # The batch as a whole was refused: send one by one so one bad case
            # cannot take its neighbours to the dead-letter list.
        outcomes: list[Outcome] = []
        for i, e in enumerate(entries):
            o, problem = self._send_one(e)
            outcomes.append(o)
            if problem is not None:
                outcomes += [Outcome(x.seq, "retry", reason=problem.detail) for x in entries[i + 1:]]
                return outcomes, problem
        return outcomes, None

    def _send_one(self, e: OutboxEntry) -> tuple[Outcome, CentralError | None]:
        headers = {"Idempotency-Key": e.idempotency_key}
        try:
            if e.kind == "case":
                resp = self.client.send("POST", "/v1/cases", data=e.body, headers=headers)
            else:
                resp = self.client.send("PUT", f"/v1/cases/{e.case_id}/evaluation",
                                        data=_evaluation_body(e.body), headers=headers)
        except CentralUnavailable as exc:
            return Outcome(e.seq, "retry", reason=exc.detail), exc
        replayed = resp.headers.get("Idempotent-Replayed") == "true"
        return self._outcome(e, resp.status_code, response_json(resp), replayed, resp)

    def _outcome(self, e: OutboxEntry, status: int, body: Any, replayed: bool,
                 resp=None) -> tuple[Outcome, CentralError | None]:
        kind = classify_status(status)
        if kind == "ok":
            receipt = dict(body) if isinstance(body, dict) else {}
            if replayed:
                receipt["_replayed"] = True
            return Outcome(e.seq, "sent", status, receipt=receipt), None
        reason = _reason(status, body)
        if kind == "final":
            return Outcome(e.seq, "dead", status, reason), None
        if status == 409 or resp is None:
            return Outcome(e.seq, "retry", status, reason), None
        problem = _problem(resp)
        return Outcome(e.seq, "retry", status, reason), problem

    def _batch_outcomes(self, entries: list[OutboxEntry], resp) -> list[Outcome]:
        body = response_json(resp)
        results = body.get("results") if isinstance(body, dict) else None
        by_key = {}
        if isinstance(results, list):
            for r in results:
                if isinstance(r, dict) and isinstance(r.get("status"), int):
                    by_key[r.get("idempotency_key")] = r
        outcomes = []
        for e in entries:
            r = by_key.get(e.idempotency_key)
            if r is None:  # a malformed answer proves nothing: try again later
                outcomes.append(Outcome(e.seq, "retry", resp.status_code, "no result for this item"))
                continue
            outcomes.append(self._outcome(e, r["status"], r.get("response"), bool(r.get("replayed")))[0])
        return outcomes

    # -- heartbeat -----------------------------------------------------------------
    def heartbeat_body(self) -> dict:
        body: dict[str, Any] = {}
        if self.status_provider is not None:
            try:
                extra = self.status_provider() or {}
                body.update(extra)
            except Exception as exc:  # the heartbeat still goes out, without the app's part
                log.warning("status provider failed", extra={"reason": str(exc)})
        try:
            stats = self.store.stats()
        except StoreUnavailable:
            stats = {}
        store_health = {"accepting": self.store.accepting,
                        "state": self.store.problem.reason if self.store.problem else "ok"}
        body.update({
            "software_version": self.version,
            "sent_at": _now_iso(self.clock),
            "terminal_id": self.store.terminal_id,
            "outbox": {"pending": stats.get("outbox"), "dead": stats.get("dead"),
                       "oldest_pending_at": stats.get("oldest_pending_at")},
            "store": store_health,
            "sync": {"state": self.state, "last_success_at": self.last_success_at,
                     "consecutive_failures": self.failures},
        })
        body.setdefault("devices", {})
        body.setdefault("services", {})
        return body

    def _remember_offline(self, body: dict) -> None:
        """Extend the current span, or start one when the states changed (or the
        worker was not running for a while: that time is not vouched for)."""
        services = body.get("services") if isinstance(body.get("services"), dict) else {}
        states = {str(sid): {"available": isinstance(v, dict) and v.get("available") is True}
                  for sid, v in services.items()}
        now = self.monotonic()
        last = self._offline[-1] if self._offline else None
        if (last is not None and not last.get("closed") and last["services"] == states
                and now - last["end"] <= 3 * self.heartbeat_s):
            last["end"] = now
        else:
            self._offline.append({"start": now, "end": now, "services": states})
            del self._offline[:-OFFLINE_SPANS_MAX]
        self._save_offline()

    def _load_offline(self) -> None:
        """Spans kept by the previous run, moved from wall-clock times onto this run's monotonic clock."""
        if self._offline_path is None:
            return
        try:
            spans = json.loads(self._offline_path.read_text("utf-8")).get("spans", [])
        except (OSError, ValueError, AttributeError):
            return
        wall, mono = self.clock(), self.monotonic()
        for span in spans[-OFFLINE_SPANS_MAX:] if isinstance(spans, list) else []:
            try:
                start, end = float(span["start_wall"]), float(span["end_wall"])
                states = {str(k): {"available": v.get("available") is True} for k, v in span["services"].items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if start <= end <= wall and wall - end <= BACKFILL_MAX_AGE_S:
                # closed: the time since the last run stopped is not vouched for
                self._offline.append({"start": mono - (wall - start), "end": mono - (wall - end), "services": states,
                                      "closed": True})

    def _save_offline(self) -> None:
        if self._offline_path is None:
            return
        wall, mono = self.clock(), self.monotonic()
        spans = [{"start_wall": round(wall - (mono - s["start"]), 3), "end_wall": round(wall - (mono - s["end"]), 3),
                  "services": s["services"]} for s in self._offline]
        tmp = self._offline_path.with_name(OFFLINE_FILE + ".tmp")
        try:
            self._offline_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"spans": spans}), "utf-8")
            os.replace(tmp, self._offline_path)  # no fsync: a power cut loses at most one heartbeat of it
        except OSError as exc:  # a full disk must not stop heartbeats; the spans stay in memory
            log.warning("offline availability not saved", extra={"reason": exc.strerror or str(exc)})

    def _backfill(self) -> list[dict]:
        """The offline spans as "started ``ago_s`` before this heartbeat, lasted ``seconds``":
        each state holds until the next heartbeat was due, or the next span began."""
        now = self.monotonic()
        oldest = now - BACKFILL_MAX_AGE_S  # the report looks back 7 days; central takes no more
        out = []
        for i, span in enumerate(self._offline):
            end = span["end"] + self.heartbeat_s
            if i + 1 < len(self._offline):
                end = min(end, self._offline[i + 1]["start"])
            start, end = max(span["start"], oldest), min(end, now)
            if end > start:
                out.append({"ago_s": round(now - start, 3), "seconds": round(end - start, 3),
                            "services": span["services"]})
        return out

    def heartbeat_once(self) -> dict | None:
        body: dict = {}
        try:
            body = self.heartbeat_body()
            sent = len(self._offline)
            if sent:
                body["backfill"] = self._backfill()
            ack = self.client.heartbeat(body)
        except CentralError as exc:
            self.last_heartbeat_ok = False
            if "backfill" in body and isinstance(exc, CentralRejected) and not isinstance(exc, CentralAuthError):
                # central refuses what was kept: drop it rather than refuse every heartbeat from now on
                log.warning("offline availability not accepted by central, dropped", extra={"reason": exc.detail})
                del self._offline[:]
            self._remember_offline(body)
            log.info("heartbeat failed", extra={"reason": exc.detail})
            return None
        except Exception as exc:  # a bad status value must not stop the worker thread
            self.last_heartbeat_ok = False
            log.warning("heartbeat not sent", extra={"reason": f"{type(exc).__name__}: {exc}"})
            return None
        if sent:
            del self._offline[:sent]
            self._save_offline()
        self.last_heartbeat_ok = True
        self.last_heartbeat_at = _now_iso(self.clock)
        try:
            server = dt.datetime.fromisoformat(ack["server_time"]).timestamp()
            self.clock_offset_s = round(server - self.clock(), 3)
        except (KeyError, ValueError, TypeError):
            pass
        if self.failures:
            # Central answers again: stop waiting out the backoff.
            self.failures = 0
            self.next_attempt_at = 0.0
            self._wake.set()
        return ack

    # -- status ----------------------------------------------------------------------
    def status(self) -> dict:
        try:
            stats = self.store.stats()
        except StoreUnavailable:
            stats = {}
        if self.state == "auth_failed":
            message = text("cases.sync.auth_failed")
        elif self.state in ("offline", "store_unavailable") and self.failures:
            message = text("cases.sync.offline", pending=stats.get("outbox", "?"))
        elif stats.get("dead"):
            message = text("cases.sync.dead", dead=stats["dead"])
        else:
            message = text("cases.sync.ok")
        return {
            "state": self.state,
            "message": message.as_dict(),
            "pending": stats.get("outbox"),
            "dead": stats.get("dead"),
            "last_success_at": self.last_success_at,
            "last_attempt_at": self.last_attempt_at,
            "last_error": self.last_error,
            "consecutive_failures": self.failures,
            "next_attempt_in_s": max(0.0, round(self.next_attempt_at - time.monotonic(), 3)) if self.failures else 0.0,
            "last_heartbeat_at": self.last_heartbeat_at,
            "last_heartbeat_ok": self.last_heartbeat_ok,
            "clock_offset_s": self.clock_offset_s,
            "totals": dict(self.totals),
        }


# -- wire helpers -----------------------------------------------------------------------

def _batch_body(entries: list[OutboxEntry]) -> bytes:
    """Built from the stored bytes so every item carries exactly the body it
    would carry alone (same canonical hash at central)."""
    parts = []
    for e in entries:
        body = e.body if e.kind == "case" else _evaluation_body(e.body)
        head = json.dumps({"kind": e.kind, "idempotency_key": e.idempotency_key, "case_id": e.case_id},
                          ensure_ascii=False)[:-1].encode("utf-8")
        parts.append(head + b',"body":' + body + b"}")
    return b'{"items":[' + b",".join(parts) + b"]}"


def _evaluation_body(stored: bytes) -> bytes:
    data = json.loads(stored)
    data.pop("case_id", None)
    return canonical_json(data)


def _reason(status: int, body: Any) -> str:
    if isinstance(body, dict):
        code, message = body.get("error", ""), body.get("message", "")
        details = body.get("details")
        extra = f" {json.dumps(details, ensure_ascii=False)[:300]}" if details else ""
        return f"HTTP {status} {code}: {message}{extra}".strip()
    return f"HTTP {status}"


def _problem(resp) -> CentralError:
    body = response_json(resp)
    return CentralUnavailable(_reason(resp.status_code, body), status=resp.status_code,
                              code=body.get("error") if isinstance(body, dict) else None, retry_after=retry_after(resp))
