"""Printing what the resident takes away: an A4 certificate, a receipt, a queue ticket.

The payload is built once per session and cached, so a retry after "paper
out" prints the same serial number / ticket number, never a new one.  ESC/POS
jobs carry a stable job id: the printer's spool prints an id at most once,
and reprints it by itself when paper is back.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kiosk.core.i18n import text

from ..jobs import Job
from ..model import Step
from ..session import Session


class PrintFailed(Exception):
    def __init__(self, key: str, **kw: Any):
        self.text = text(key, **kw)
        self.key = key
        super().__init__(self.text.en)


class PrintStep(Step):
    view = "printing"

    def __init__(self, id: str, **kw: Any):
        opts = kw.setdefault("options", {})
        opts.setdefault("family", "a4" if opts.get("kind", "pdf") == "pdf" else "escpos")
        opts.setdefault("kind", "pdf")
        kw.setdefault("title", f"flows.printing.title.{opts['kind']}")
        kw.setdefault("prompt", "flows.printing.prompt")
        kw.setdefault("can_back", False)
        kw.setdefault("history", False)
        kw.setdefault("progress", False)
        super().__init__(id, **kw)
        if opts["kind"] != "pdf":
            self.on_call = "skip"   # receipts and slips: a bundle prints one receipt for all its services

    def _family(self, s: Session) -> str:
        return s.data.get(f"print_family:{self.id}") or self.options["family"]

    def enter(self, s: Session) -> None:
        family = self._family(s)
        if s.services.device(family) is None:
            self._failed(s, None, family)
            return
        # No status pre-check here: the driver checks the printer itself right
        # before sending, so a retry after new paper is never refused on old news.
        s.start_job("print", _print_job, s, self, family)

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        family = self._family(s)
        title = text(f"flows.artifact.{self.options['kind']}")
        s.add_artifact(self.options["kind"], title, data=result["pdf"], printer=family, status="printed",
                       meta={"job": getattr(result["result"], "job_id", None)})
        s.journal_note("printed", item=self.options["kind"], printer=family)
        s.go(self.next_step(s), cause="printed")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        if getattr(error, "pending", False) and getattr(error, "job_id", None):
            # the receipt printer keeps the job and prints it when it is back
            s.data[f"print_pending:{self.id}"] = (self._family(s), error.job_id)
        self._failed(s, error, self._family(s))

    def _drop_pending(self, s: Session) -> None:
        """The resident chose another output or none: the kept job must not
        come out later for nobody."""
        family, job_id = s.data.pop(f"print_pending:{self.id}", (None, None))
        dev = s.services.device(family) if family else None
        if dev is None:
            return
        cancel = getattr(dev, "cancel_pending", None)  # A4 jobs are not kept, nothing to withdraw
        if cancel is not None:
            cancel(job_id)
        s.journal_note("print_withdrawn", item=self.options["kind"], printer=family)

    def _failed(self, s: Session, error: BaseException | None, family: str) -> None:
        dev = s.services.device(family)
        reason = getattr(error, "text", None)
        if reason is None and dev is not None:
            st = dev.status()
            reason = st.message if st.message is not None else text(f"device.state.{st.device.value}", reason="")
        reason = reason or text("flows.printing.failed_generic")
        keep = s.result or {}
        ref = keep.get("ticket") or keep.get("case_ref") or ""
        msg = text("flows.printing.failed", reason=reason.zh, reason_en=reason.en, ref=ref)
        actions = ["retry"]
        alt = self.options.get("alt_family")
        if alt and alt != family:
            alt_dev = s.services.device(alt)
            if alt_dev is not None and alt_dev.status().usable:
                actions.append("other_printer")
        if self.options.get("optional"):
            actions.append("skip")
        actions.append("counter")
        s.fail_here(error, message=msg, actions=actions)
        s.journal_note("print_failed", item=self.options["kind"], printer=family)

    def tap(self, s: Session, action: str) -> bool:
        if action == "other_printer" and self.options.get("alt_family"):
            self._drop_pending(s)
            s.data[f"print_family:{self.id}"] = self.options["alt_family"]
            s.retry_step()
            return True
        if action == "skip" and self.options.get("optional"):
            self._drop_pending(s)
            s.journal_note("print_skipped", item=self.options["kind"])
            s.go(self.next_step(s), cause="print_skipped")
            return True
        return super().tap(s, action)


def _print_job(job: Job, s: Session, step: PrintStep, family: str) -> Any:
    key = f"print:{step.id}"
    payload = s.data.get(key)
    if payload is None:
        payload = step.options["build"](s)
        s.data[key] = payload
        if isinstance(payload, (bytes, bytearray)):
            s.data.setdefault("document_hash", hashlib.sha256(payload).hexdigest())
    dev = s.services.device(family)
    kind = step.options["kind"]
    pdf = None
    if family == "a4":
        pdf = bytes(payload) if isinstance(payload, (bytes, bytearray)) else s.services.render_slip(kind, payload)
        result = dev.print_pdf(pdf, text(f"flows.artifact.{kind}").en)
    elif kind == "ticket":
        # The driver's job id is derived from the ticket number: one number, one paper.
        result = dev.print_ticket(dict(payload))
    elif kind == "slip":   # progress, appointment and guide slips (layouts/slip.toml)
        result = dev.print_slip(dict(payload))
    else:
        result = dev.print_receipt(dict(payload))
    if not getattr(result, "ok", True):
        raise PrintFailed("flows.printing.failed_generic")
    return {"result": result, "pdf": pdf}
