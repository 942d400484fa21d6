"""Terminals: heartbeats in, what central knows of a terminal, its signed config."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from ..common import err, iso, json_body, sandbox, validate
from ..models import HeartbeatIn

router = APIRouter()


@router.post("/v1/terminals/{terminal_id}/heartbeat")
async def heartbeat(terminal_id: str, request: Request):
    sb = sandbox(request)
    raw = await json_body(request)
    validate(HeartbeatIn, raw)
    if not request.state.caller.may_act_as(terminal_id):
        return await run_in_threadpool(sb.refuse, request.state.caller, "POST /v1/terminals/{id}/heartbeat",
                                       f"heartbeat as terminal {terminal_id}")
    return await run_in_threadpool(sb.heartbeat, terminal_id, raw)


@router.get("/v1/terminals/{terminal_id}")
def terminal(terminal_id: str, request: Request):
    sb = sandbox(request)
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


@router.get("/v1/terminals/{terminal_id}/config")
def terminal_config(terminal_id: str, request: Request):
    sb = sandbox(request)
    if not request.state.caller.may_act_as(terminal_id):
        return sb.refuse(request.state.caller, "GET /v1/terminals/{id}/config",
                         f"fetching the config of terminal {terminal_id}")
    return sb.terminal_config(terminal_id)
