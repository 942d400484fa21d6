"""Counter appointments: the calendar, booking, cancelling, rescheduling, check-in."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from ..appointments import Refused, appointments_for
from ..common import BadRequest, In, err, json_body, sandbox, validate

router = APIRouter()
ID = r"^[0-9]{17}[0-9Xx]$"


class Person(In):
    id_number: str = Field(pattern=ID)


class BookIn(Person):
    slot_id: str = Field(min_length=1, max_length=64)


class CheckInIn(In):
    code: str = Field(default=None, min_length=1, max_length=64)   # absent is fine, null is not
    id_number: str = Field(default=None, pattern=ID)


def _refused(exc: Refused):
    return err(404 if exc.code == "not_found" else 422, exc.code, exc.message)


async def _run(fn, *args):
    try:
        return await run_in_threadpool(fn, *args)
    except Refused as exc:
        return _refused(exc)


@router.get("/v1/appointments/slots")
async def slots(request: Request, business: str = Query(min_length=1, max_length=32)):
    a = await run_in_threadpool(appointments_for, sandbox(request))
    result = await _run(a.slots, business)
    return {"slots": result} if isinstance(result, list) else result


@router.post("/v1/appointments", status_code=201)
async def book(request: Request):
    q = validate(BookIn, await json_body(request))
    a = await run_in_threadpool(appointments_for, sandbox(request))
    return await _run(a.book, q.slot_id, q.id_number, request.state.caller.terminal or "operator")


@router.post("/v1/appointments/mine")
async def mine(request: Request):
    q = validate(Person, await json_body(request))
    a = await run_in_threadpool(appointments_for, sandbox(request))
    return {"appointments": await run_in_threadpool(a.of_holder, q.id_number)}


@router.post("/v1/appointments/check-in")
async def check_in(request: Request):
    q = validate(CheckInIn, await json_body(request))
    if (q.code is None) == (q.id_number is None):
        raise BadRequest("give either code or id_number")
    a = await run_in_threadpool(appointments_for, sandbox(request))
    return await _run(a.check_in, q.code, q.id_number)


@router.post("/v1/appointments/{appointment_id}/cancel")
async def cancel(appointment_id: str, request: Request):
    q = validate(Person, await json_body(request))
    a = await run_in_threadpool(appointments_for, sandbox(request))
    return await _run(a.cancel, appointment_id, q.id_number)


@router.post("/v1/appointments/{appointment_id}/reschedule")
async def reschedule(appointment_id: str, request: Request):
    q = validate(BookIn, await json_body(request))
    a = await run_in_threadpool(appointments_for, sandbox(request))
    return await _run(a.reschedule, appointment_id, q.id_number, q.slot_id, request.state.caller.terminal or "operator")
