"""Queue numbers: businesses with their waiting counts, and tickets."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from .. import demo_data
from ..common import err, iso, json_body, sandbox, validate
from ..db import Tx
from ..models import TicketIn

router = APIRouter()


def businesses(tx: Tx, day: str, now: float) -> list[dict]:
    hour_ago = now - 3600
    out = []
    for b in demo_data.BUSINESSES:
        recent = tx.one("SELECT COUNT(*) FROM queue_tickets WHERE business = ? AND day = ? AND issued_at >= ?",
                        (b["code"], day, hour_ago))[0]
        out.append({**b, "waiting": demo_data.queue_waiting_base(b["code"], day) + recent})
    return out


def _day(now: float) -> str:
    return dt.datetime.fromtimestamp(now).date().isoformat()


@router.get("/v1/queue/businesses")
def queue_businesses(request: Request):
    sb = sandbox(request)
    now = sb.clock()
    with sb.db.transaction() as tx:
        return {"businesses": businesses(tx, _day(now), now)}


@router.post("/v1/queue/tickets")
async def queue_ticket(request: Request):
    sb = sandbox(request)
    t = validate(TicketIn, await json_body(request))
    if t.terminal_id is not None and not request.state.caller.may_act_as(t.terminal_id):
        return await run_in_threadpool(sb.refuse, request.state.caller, "POST /v1/queue/tickets",
                                       f"ticket as terminal {t.terminal_id}")

    def work():
        by_code = {b["code"]: b for b in demo_data.BUSINESSES}
        b = by_code.get(t.business) or next((x for x in demo_data.BUSINESSES if x["prefix"] == t.business), None)
        if b is None:
            return err(404, "not_found", "no such business")
        now = sb.clock()
        day = _day(now)
        with sb.db.transaction() as tx:
            waiting = next(x["waiting"] for x in businesses(tx, day, now) if x["code"] == b["code"])
            n = tx.bump(f"queue:{b['code']}:{day}")
            n = (n - 1) % (demo_data.OFFLINE_BASE - 1) + 1   # online numbers never reach the offline ranges
            tid = f"Q{uuid.uuid4().hex[:16].upper()}"
            tx.run("INSERT INTO queue_tickets(ticket_id, business, day, number, terminal_id, issued_at)"
                   " VALUES (?,?,?,?,?,?)", (tid, b["code"], day, n, t.terminal_id or "", now))
            tx.count("queue_tickets")
        return JSONResponse({"ticket_id": tid, "business": b["code"], "name_zh": b["name_zh"],
                             "name_en": b["name_en"], "prefix": b["prefix"], "sequence": n,
                             "number": f"{b['prefix']}{n:03d}", "waiting": waiting, "counters": b["counters"],
                             "issued_at": iso(now)}, status_code=201)
    return await run_in_threadpool(work)
