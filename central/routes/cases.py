"""Cases and evaluations from terminals, each exactly once (see ``central.sandbox``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from kiosk.core.masking import mask_mapping

from ..auth import Caller
from ..common import (
    BadRequest,
    err,
    idem_key,
    iso,
    json_body,
    sandbox,
    validate,
    visible_ascii,
)
from ..models import BatchIn, CaseIn, EvaluationIn

router = APIRouter()


@router.post("/v1/cases")
async def post_case(request: Request):
    sb = sandbox(request)
    key = idem_key(request)
    raw = await json_body(request)
    case = validate(CaseIn, raw)
    caller: Caller = request.state.caller
    if not caller.may_act_as(case.terminal_id):
        return await run_in_threadpool(sb.refuse, caller, "POST /v1/cases", f"case of terminal {case.terminal_id}")
    return await run_in_threadpool(sb.run_single, "cases", case.terminal_id, key, raw,
                                   lambda tx: sb.store_case(tx, key, case, raw))


@router.post("/v1/cases/batch")
async def post_batch(request: Request):
    sb = sandbox(request)
    raw = await json_body(request)
    batch = validate(BatchIn, raw)
    terminal = request.headers.get("x-terminal-id", "")
    if len(terminal) > 64 or not visible_ascii(terminal):
        raise BadRequest("X-Terminal-Id must be at most 64 visible ASCII characters")
    caller: Caller = request.state.caller
    if not caller.may_act_as(terminal or caller.terminal):
        return await run_in_threadpool(sb.refuse, caller, "POST /v1/cases/batch", f"batch as terminal {terminal}")
    return await run_in_threadpool(sb.batch, caller.terminal, batch, raw)


@router.get("/v1/cases/{case_id}")
def get_case(case_id: str, request: Request):
    sb = sandbox(request)
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


@router.put("/v1/cases/{case_id}/evaluation")
async def put_evaluation(case_id: str, request: Request):
    sb = sandbox(request)
    key = idem_key(request)
    raw = await json_body(request)
    validate(EvaluationIn, raw)
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
