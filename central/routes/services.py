"""The sandbox's service back-ends: property registry, phone on record,
social security, provident fund (with withdrawals) and traffic violations."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from kiosk.core.masking import mask_id_number, mask_mapping

from .. import demo_data
from ..auth import Caller
from ..common import err, error, idem_key, json_body, sandbox, validate
from ..db import Tx
from ..models import PersonQuery, PlateQuery, RecordsQuery, WithdrawalIn
from ..phones import RateLimited

log = logging.getLogger(__name__)
router = APIRouter()


def today(request: Request) -> dt.date:
    return dt.datetime.fromtimestamp(sandbox(request).clock()).date()


@router.post("/v1/services/property/query")
async def property_query(request: Request):
    q = validate(PersonQuery, await json_body(request))
    return demo_data.property_query(q.id_number, q.name or "", today(request))


@router.post("/v1/identity/phone")
async def phone_on_record(request: Request):
    sb = sandbox(request)
    q = validate(PersonQuery, await json_body(request))
    caller: Caller = request.state.caller
    if caller.operator:
        return await run_in_threadpool(sb.refuse, caller, "POST /v1/identity/phone", "the operator is no terminal")
    try:
        return sb.phones.lookup(q.id_number, caller.terminal)
    except RateLimited as exc:
        log.warning("phone lookups rate-limited", extra={"scope": exc.scope, "terminal": caller.terminal})
        return err(429, "too_many_requests", str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)})


@router.post("/v1/services/social-security/records")
async def social_security(request: Request):
    q = validate(RecordsQuery, await json_body(request))
    return {"id_number_masked": mask_id_number(q.id_number),
            "records": demo_data.social_security_records(q.id_number, q.months, today(request))}


@router.post("/v1/services/provident-fund/account")
async def provident_fund(request: Request):
    q = validate(PersonQuery, await json_body(request))
    return demo_data.provident_fund_account(q.id_number, today(request))


@router.post("/v1/services/provident-fund/withdrawals")
async def withdrawal(request: Request):
    sb = sandbox(request)
    key = idem_key(request)
    raw = await json_body(request)
    w = validate(WithdrawalIn, raw)
    day = today(request)

    def work(tx: Tx) -> tuple[int, dict]:
        account = demo_data.provident_fund_account(w.id_number, day)
        if not account["eligible"]:
            return 422, error("not_eligible", "the account cannot be withdrawn from", reasons=account["reasons"])
        if w.amount_cents > account["max_withdrawal_cents"]:
            return 422, error("amount_too_large", "the amount exceeds what may be withdrawn",
                              max_withdrawal_cents=account["max_withdrawal_cents"])
        wid = f"W{uuid.uuid4().hex[:16].upper()}"
        masked = mask_mapping(dict(raw, bank_card=w.bank_card, id_number=w.id_number))
        tx.run("INSERT INTO withdrawals(withdrawal_id, case_ref, amount_cents, body, created_at) VALUES (?,?,?,?,?)",
               (wid, w.case_ref, w.amount_cents, json.dumps(masked, ensure_ascii=False), sb.clock()))
        tx.count("withdrawals")
        return 201, {"withdrawal_id": wid, "status": "accepted", "amount_cents": w.amount_cents,
                     "amount": demo_data.yuan(w.amount_cents), "bank_card_masked": masked["bank_card"],
                     "expected_arrival": (day + dt.timedelta(days=3)).isoformat()}
    return await run_in_threadpool(sb.run_single, "withdrawals", "", key, raw, work)


@router.post("/v1/services/traffic/violations")
async def violations(request: Request):
    sb = sandbox(request)
    q = validate(PlateQuery, await json_body(request))
    items = demo_data.traffic_violations(q.plate, dt.datetime.fromtimestamp(sb.clock()))

    def mark():
        with sb.db.transaction() as tx:
            for v in items:
                v["paid"] = tx.one("SELECT 1 FROM paid_violations WHERE violation_id = ?",
                                   (v["violation_id"],)) is not None
        return {"plate": q.plate, "violations": items}
    return await run_in_threadpool(mark)
