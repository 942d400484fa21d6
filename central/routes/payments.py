"""Payments a terminal asks central for (the resident pays by phone from a QR code)."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from .. import demo_data
from ..common import err, idem_key, iso, json_body, sandbox, validate
from ..db import Tx
from ..models import PaymentIn

router = APIRouter()


@router.post("/v1/payments")
async def create_payment(request: Request):
    sb = sandbox(request)
    raw = await json_body(request)
    p = validate(PaymentIn, raw)
    key = idem_key(request) if "idempotency-key" in request.headers else f"payment-{uuid.uuid4()}"
    base = str(request.base_url).rstrip("/")

    def work(tx: Tx) -> tuple[int, dict]:
        pid = f"P{uuid.uuid4().hex[:20].upper()}"
        now = sb.clock()
        tx.run("INSERT INTO payments(payment_id, case_ref, amount_cents, description, items, status, created_at)"
               " VALUES (?,?,?,?,?,?,?)", (pid, p.case_ref, p.amount_cents, p.description,
                                           json.dumps(p.items), "pending", now))
        tx.count("payments")
        return 201, {"payment_id": pid, "qr_text": f"{base}/pay/{pid}", "amount_cents": p.amount_cents,
                     "amount": demo_data.yuan(p.amount_cents), "status": "pending",
                     "expires_at": iso(now + 900)}
    return await run_in_threadpool(sb.run_single, "payments", "", key, raw, work)


@router.get("/v1/payments/{payment_id}")
def payment_status(payment_id: str, request: Request):
    view = sandbox(request).payment(payment_id)
    return view if view is not None else err(404, "not_found", "no such payment")
