"""Sandbox shortcuts of the hall's other front doors (demo mode only, outside
the contract): issuing a resident code for a demo resident, and an
appointment starting in a few minutes (to show check-in at any hour)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from kiosk.core import resident_code as rc

from ..common import In, json_body, sandbox, validate
from ..resident_codes import codes_for

DEMO_ONLY = True
router = APIRouter()


class IssueIn(In):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9X]$")
    name: str = Field(min_length=1, max_length=64)
    lifetime_s: int = Field(default=rc.MAX_LIFETIME_S, ge=1, le=rc.MAX_LIFETIME_S)
    age_s: int = Field(default=0, ge=0, le=86400)   # issued this long ago (to show an expired code)


@router.post("/v1/sandbox/resident-codes")
async def issue(request: Request):
    body = validate(IssueIn, await json_body(request))
    codes = await run_in_threadpool(codes_for, sandbox(request))
    return {"code": codes.issue(body.id_number, body.name, body.lifetime_s, body.age_s)}


class WalkInIn(In):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9X]$")
    business: str = Field(default="property", min_length=1, max_length=32)
    in_minutes: int = Field(default=10, ge=-60, le=600)


@router.post("/v1/sandbox/appointments")
async def appointment_soon(request: Request):
    import datetime as dt

    from ..appointments import Refused, appointments_for, slot_id

    body = validate(WalkInIn, await json_body(request))
    sb = sandbox(request)
    a = await run_in_threadpool(appointments_for, sb)
    when = dt.datetime.fromtimestamp(sb.clock()) + dt.timedelta(minutes=body.in_minutes)
    sid = slot_id(body.business, when.date(), f"{when:%H:%M}")
    try:
        return await run_in_threadpool(a.book, sid, body.id_number, "sandbox", True)
    except Refused as exc:
        from ..common import err
        return err(422, exc.code, exc.message)


@router.put("/v1/sandbox/guide")
async def publish_guide(request: Request):
    """Publish a new guide version (the operator console's job on a real platform)."""
    from ..common import BadRequest
    from .guide import publish

    content = await json_body(request)
    if not isinstance(content, dict) or not isinstance(content.get("entries"), dict):
        raise BadRequest("a guide is a JSON object with an entries table")
    return {"version": await run_in_threadpool(publish, sandbox(request), content)}
