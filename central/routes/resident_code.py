"""Redeeming a resident code (居民码): each code's nonce is accepted once on the platform."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from kiosk.core import resident_code as rc

from ..common import In, err, json_body, sandbox, validate
from ..resident_codes import codes_for

router = APIRouter()


class RedeemIn(In):
    code: str = Field(min_length=1, max_length=rc.MAX_TEXT)


@router.post("/v1/identity/resident-code")
async def redeem(request: Request):
    body = validate(RedeemIn, await json_body(request))
    sb = sandbox(request)
    caller = request.state.caller
    if caller.operator:
        return await run_in_threadpool(sb.refuse, caller, "POST /v1/identity/resident-code",
                                       "the operator is no terminal")
    status, answer = await run_in_threadpool(codes_for(sb).redeem, body.code, caller.terminal)
    return answer if status == 200 else err(status, answer["error"], answer["message"])
