"""Pay by scanning a QR code with a phone (the sandbox payment back-end in tests)."""

from __future__ import annotations

from typing import Any

from kiosk.core.i18n import text

from ..jobs import Job
from ..model import Choice, Step
from ..session import Session


class PaymentStep(Step):
    """``options["order"](session) -> {"amount": Decimal, "items": [...], "subject": str}``."""

    view = "payment_qr"

    defaults = {
        "title": "flows.payment.title",
        "prompt": "flows.payment.prompt",
        "timeout_s": 300.0,
        "actions": [Choice("check", "flows.payment.check")],
    }

    def enter(self, s: Session) -> None:
        if s.data.get("payment", {}).get("status") == "paid":
            s.go(self.next_step(s), cause="already_paid", push=False)
            return
        order = self.options["order"](s)
        s.local["order"] = order
        s.start_job("create_payment", lambda job: s.services.backend("payment_create", **order))

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        if job.name == "create_payment":
            s.local["payment"] = result
            s.start_job("await_payment", _await_payment, s, result["payment_id"], person=True)
            return
        status = result.get("status")
        if status == "paid":
            s.data["payment"] = {"payment_id": s.local["payment"]["payment_id"], "status": "paid",
                                 "amount": str(s.local["payment"]["amount"]),
                                 "paid_at": result.get("paid_at")}
            s.set_result(paid=str(s.local["payment"]["amount"]))
            s.go(self.next_step(s), cause="paid")
        else:
            s.fail_here(None, message=text(f"flows.payment.{status or 'failed'}"), actions=["retry", "counter"])

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, message=text("flows.payment.backend"), actions=["retry", "counter"])

    def tap(self, s: Session, action: str) -> bool:
        if action == "check":
            return True  # the status is polled continuously; the tap only reassures
        return super().tap(s, action)

    def extra_state(self, s: Session) -> dict:
        p = s.local.get("payment")
        if not p:
            return {}
        return {"payment": {"payment_id": p["payment_id"], "qr": p["qr"], "amount": str(p["amount"]),
                            "currency": "CNY", "status": "waiting", "expires_at": p.get("expires_at")}}


def _await_payment(job: Job, s: Session, payment_id: str) -> dict:
    while not job.cancelled:
        result = s.services.backend("payment_status", payment_id=payment_id)
        if result.get("status") in ("paid", "expired", "cancelled", "failed"):
            job.person_done()
            return result
        job.wait(0.3)
    return {"status": "cancelled"}
