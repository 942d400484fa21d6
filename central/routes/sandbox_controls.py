"""Sandbox-only controls, outside the contract: fault switches, paying a
payment, setting terminal config and the ``/pay/{id}`` page a resident's
phone opens from the payment QR code. Shortcuts of the demo that a
production deployment never serves (``DEMO_ONLY``)."""

from __future__ import annotations

import hashlib
import hmac
import html
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ..common import BadRequest, err, json_body, sandbox

DEMO_ONLY = True
router = APIRouter()


@router.get("/v1/sandbox/faults")
def get_faults(request: Request):
    return sandbox(request).faults.as_dict()


@router.post("/v1/sandbox/faults")
async def set_faults(request: Request):
    data = await json_body(request)
    if not isinstance(data, dict):
        raise BadRequest("faults must be a JSON object")
    faults = sandbox(request).faults
    faults.update(data)
    return faults.as_dict()


@router.post("/v1/sandbox/payments/{payment_id}/pay")
def sandbox_pay(payment_id: str, request: Request):
    view = sandbox(request).pay(payment_id)
    return view if view is not None else err(404, "not_found", "no such payment")


@router.put("/v1/sandbox/terminals/{target}/config")
async def sandbox_config(target: str, request: Request):
    sb = sandbox(request)
    # a terminal may change only its own sandbox config; "*" and others need the operator
    if not request.state.caller.may_read(target) or (target == "*" and not request.state.caller.operator):
        return await run_in_threadpool(sb.refuse, request.state.caller, "PUT /v1/sandbox/terminals/{id}/config",
                                       f"setting the config of {target}")
    data = await json_body(request)
    if not isinstance(data, dict):
        raise BadRequest("config must be a JSON object")
    return sb.set_terminal_config(target, data)


# The page a phone opens from the payment QR. Everything shown is escaped
# (a description comes from a terminal) and the page forbids scripts; its
# Pay button carries a per-payment token, so a bare or cross-site POST
# cannot mark a payment paid.

def pay_token(request: Request, payment_id: str) -> str:
    key = sandbox(request).auth.derived_key("pay-page")
    return hmac.new(key, payment_id.encode(), hashlib.sha256).hexdigest()


def page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>沙箱支付</title>{body}", status_code=status,
                        headers={"Content-Security-Policy": "default-src 'none'; form-action 'self'; "
                                 "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})


NOT_FOUND = "<h1>未找到支付单 / Payment not found</h1>"


@router.get("/pay/{payment_id}", response_class=HTMLResponse)
def pay_page(payment_id: str, request: Request):
    view = sandbox(request).payment(payment_id)
    if view is None:
        return page(NOT_FOUND, 404)
    state = "已支付 / Paid" if view["status"] == "paid" else "待支付 / Pending"
    return page(f"<h1>沙箱支付 / Sandbox payment</h1><p>{html.escape(str(view['description']))}</p>"
                f"<p>¥{html.escape(str(view['amount']))}</p><p>{state}</p>"
                f"<form method=post action='/pay/{html.escape(quote(payment_id, safe=''))}'>"
                f"<input type=hidden name=token value='{pay_token(request, payment_id)}'>"
                f"<button>确认支付 / Pay</button></form>")


@router.post("/pay/{payment_id}", response_class=HTMLResponse)
async def pay_submit(payment_id: str, request: Request):
    form = parse_qs((await request.body())[:4096].decode("ascii", "replace"))
    token = (form.get("token") or [""])[0]
    if not hmac.compare_digest(token.encode(), pay_token(request, payment_id).encode()):
        return page("<h1>请重新打开支付页面 / Open the payment page again</h1>", 403)
    view = await run_in_threadpool(sandbox(request).pay, payment_id)
    if view is None:
        return page(NOT_FOUND, 404)
    return page("<h1>支付成功 / Paid</h1>")
