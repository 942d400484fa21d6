"""Central side of the terminals' audit trails (kiosk/core/audit.py).

``POST /v1/terminals/{id}/audit`` takes records in sequence order. Each
(terminal, seq) is stored once: the same record again is a replay (counted,
not stored twice), a different record under a stored seq is refused
(``audit_conflict``), and a record that does not continue the chain central
already holds (seq + 1 and prev = last hash) is refused
(``audit_chain_broken``): a terminal whose log was rewritten or cut cannot
make central forget what it already received. A batch is all or nothing.
``GET /v1/terminals/{id}/audit`` lists what central holds.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from .common import In, err, iso, json_body, sandbox, validate
from .db import IntegrityError

ZERO = "0" * 64
HEX64 = r"^[0-9a-f]{64}$"


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


router = APIRouter()


class AuditRecordIn(In):
    terminal_id: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, le=2 ** 53)
    at: str = Field(min_length=1, max_length=40)
    kind: str = Field(min_length=1, max_length=64)
    fields: dict
    prev: str = Field(pattern=HEX64)
    hash: str = Field(pattern=HEX64)


class AuditBatchIn(In):
    records: list[AuditRecordIn] = Field(min_length=1, max_length=500)


def store(tx, terminal_id: str, records: list, now: float) -> dict:
    last = tx.one("SELECT seq, hash FROM audit_records WHERE terminal_id = ? ORDER BY seq DESC LIMIT 1",
                  (terminal_id,))
    last_seq, last_hash = (last[0], last[1]) if last else (0, ZERO)
    stored = replayed = 0
    for r in records:
        if r.terminal_id != terminal_id:
            raise Refused(422, "terminal_mismatch", "an audit record names another terminal", seq=r.seq)
        held = tx.one("SELECT hash FROM audit_records WHERE terminal_id = ? AND seq = ?", (terminal_id, r.seq))
        if held is not None:
            if held[0] != r.hash:
                raise Refused(422, "audit_conflict", "central holds a different record under this seq", seq=r.seq)
            replayed += 1
            continue
        if r.seq != last_seq + 1 or r.prev != last_hash:
            raise Refused(422, "audit_chain_broken", "the record does not continue the chain central holds",
                          seq=r.seq, expected_seq=last_seq + 1)
        body = json.dumps(r.model_dump(), ensure_ascii=False, sort_keys=True)
        tx.run("INSERT INTO audit_records(terminal_id, seq, hash, prev, kind, body, received_at)"
               " VALUES (?,?,?,?,?,?,?)", (terminal_id, r.seq, r.hash, r.prev, r.kind, body, now))
        last_seq, last_hash = r.seq, r.hash
        stored += 1
    return {"terminal_id": terminal_id, "stored": stored, "replayed": replayed, "last_seq": last_seq}


@router.post("/v1/terminals/{terminal_id}/audit")
async def post_audit(terminal_id: str, request: Request):
    sb = sandbox(request)
    if not request.state.caller.may_act_as(terminal_id):  # a terminal sends only its own trail
        return await run_in_threadpool(sb.refuse, request.state.caller, "POST /v1/terminals/{id}/audit",
                                       f"audit records as terminal {terminal_id}")
    batch = validate(AuditBatchIn, await json_body(request))
    records = sorted(batch.records, key=lambda r: r.seq)

    def work():
        try:
            with sb.db.transaction() as tx:
                sb.register_terminal(tx, terminal_id)
                return store(tx, terminal_id, records, sb.clock())
        except Refused as exc:
            return err(exc.status, exc.code, exc.message, **exc.extra)
        except IntegrityError:  # the same records arriving twice at once: the other request won
            return err(409, "in_progress", "these audit records are being stored; retry")
    return await run_in_threadpool(work)


@router.get("/v1/terminals/{terminal_id}/audit")
def get_audit(terminal_id: str, request: Request, after: int = 0, limit: int = 200):
    sb = sandbox(request)
    if not request.state.caller.may_read(terminal_id):
        return sb.refuse(request.state.caller, "GET /v1/terminals/{id}/audit", f"reading terminal {terminal_id}")
    limit = max(1, min(int(limit), 1000))
    with sb.db.transaction() as tx:
        rows = tx.all("SELECT body, received_at FROM audit_records WHERE terminal_id = ? AND seq > ?"
                      " ORDER BY seq LIMIT ?", (terminal_id, after, limit))
    return {"terminal_id": terminal_id,
            "records": [{**json.loads(body), "received_at": iso(received)} for body, received in rows]}
