"""ESC/POS ticket and receipt printer driver.

Every job goes through the same path on the device thread:

1. the job (its bytes, already rendered) is written to the durable spool;
2. the printer's status is read (DLE EOT 1, 2, 4); paper out, cover open,
   offline or no answer -> nothing is sent, the caller gets a ``DeviceError``
   with a catalog key and the job stays pending;
3. older pending jobs go first (numbers keep their order), then this one;
4. after each job the status is read again ("confirmed" means that answer was
   printable); only then is the job marked done.  A job that was sent but not
   confirmed stays pending and is reprinted, after a buffer clear, when the
   printer is back.

A background thread retries pending jobs every ``retry_interval_s`` until the
spool is empty, so a ticket kept while the paper was out prints by itself when
the roll is replaced.

Options (config ``[devices.NAME]``): ``paper_width_mm`` (58 | 80),
``timeout_s`` (status answer wait, default 1.0), ``spool_dir``,
``retry_interval_s`` (default 2.0), ``logo`` (PNG printed on top), ``confirm`` ("status" or "process_id":
also wait for the GS ( H answer that follows printing, on printers that have it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devices.base import Device, DeviceError, DeviceState, DeviceStatus
from kiosk.core.i18n import Text

from . import status as st
from .encoder import CLEAR_BUFFERS, INIT, process_id_request, status_query
from .layouts import LayoutError, receipt_fields, render, slip_fields, ticket_fields
from .spool import JobSpool
from .transports import Transport, open_transport, read_exact

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    job_id: str
    kind: str
    ref: str  # ticket number or case number, for messages
    state: str  # printed | duplicate (printed before, not again) | written (no status channel)
    confirmed: bool
    status: DeviceStatus | None = None
    warning: Text | None = None  # e.g. paper near end
    reprinted: list = field(default_factory=list)  # ids of earlier pending jobs printed first

    def as_dict(self) -> dict:
        return {"job_id": self.job_id, "kind": self.kind, "ref": self.ref, "state": self.state,
                "confirmed": self.confirmed, "reprinted": list(self.reprinted),
                "warning": self.warning.as_dict() if self.warning else None,
                "status": self.status.as_dict() if self.status else None}


def default_spool_dir() -> Path:
    # The driver gets only its device options; the data dir follows the same
    # rule as kiosk.core.config (KIOSK_DATA_DIR, else the default data.dir).
    base = os.environ.get("KIOSK_DATA_DIR") or "~/.local/share/kiosk"
    return Path(os.path.expanduser(base)) / "spool" / "escpos"


class EscPosPrinter(Device):
    family = "escpos"
    schemes = ("tcp", "serial", "usb", "file")
    default_timeout_s = 5.0

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        self.paper_mm = int(self.options.get("paper_width_mm", 80))
        self.io_timeout = float(self.options.get("timeout_s", 1.0))
        self.job_timeout = float(self.options.get("job_timeout_s", 60.0))
        self.retry_interval = float(self.options.get("retry_interval_s", 2.0))
        self.confirm_mode = self.options.get("confirm", "status")
        spool_dir = Path(self.options.get("spool_dir") or default_spool_dir())
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.spool = JobSpool(spool_dir / f"{safe}.jsonl")
        self._job_listeners: list[Callable[[JobResult], None]] = []
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None
        self._pid = 0

    # --- public API ----------------------------------------------------
    def print_ticket(self, ticket: dict) -> JobResult:
        """Queue ticket: hall, service (str or {"zh","en"}), number, waiting,
        time, follow_url; optional job_id (default: ticket-<date>-<number>)."""
        try:
            fields = ticket_fields({"logo": self.options.get("logo", ""), **ticket})
            data = render("ticket", fields, self.paper_mm)
        except LayoutError as exc:
            raise DeviceError("printing.escpos.bad_job", DeviceState.ONLINE, problem=str(exc)) from None
        day = re.sub(r"\D", "", fields["time"])[:8]
        job_id = ticket.get("job_id") or f"ticket-{day}-{fields['number']}"
        return self.print_raw(data, job_id=job_id, kind="ticket", ref=fields["number"])

    def print_receipt(self, receipt: dict) -> JobResult:
        """Receipt: case_no, service, applicant (masked here), id_number
        (optional, masked), time, result (code or text), verify_url; optional
        job_id (default: receipt-<case_no>)."""
        try:
            fields = receipt_fields({"logo": self.options.get("logo", ""), **receipt})
            data = render("receipt", fields, self.paper_mm)
        except LayoutError as exc:
            raise DeviceError("printing.escpos.bad_job", DeviceState.ONLINE, problem=str(exc)) from None
        job_id = receipt.get("job_id") or f"receipt-{fields['case_no']}"
        return self.print_raw(data, job_id=job_id, kind="receipt", ref=str(fields["case_no"]))

    def print_slip(self, slip: dict) -> JobResult:
        """A slip (layouts/slip.toml): title, body lines, optional qr; job_id
        (default: slip-<hash of the content>) keeps a retry from printing twice."""
        try:
            fields = slip_fields({"logo": self.options.get("logo", ""), **slip})
            data = render("slip", fields, self.paper_mm)
        except LayoutError as exc:
            raise DeviceError("printing.escpos.bad_job", DeviceState.ONLINE, problem=str(exc)) from None
        return self.print_raw(data, job_id=slip.get("job_id"), kind="slip", ref=str(slip.get("ref", "")))

    def print_raw(self, data: bytes, job_id: str | None = None, kind: str = "raw", ref: str = "") -> JobResult:
        """Print ready ESC/POS bytes.  Raises DeviceError (job kept pending)
        when the printer cannot take it; the same job_id never prints twice."""
        job_id = job_id or f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}"
        return self.call(self._submit, job_id, kind, ref, data, timeout=self.job_timeout)

    def pending(self) -> list[dict]:
        return [j.as_dict() for j in self.spool.pending()]

    def cancel_pending(self, job_id: str) -> bool:
        """Withdraw a kept job (the resident took another output or left):
        it will never print, and its id stays used.  False if it was not pending."""
        was_pending = any(j.id == job_id for j in self.spool.pending())
        self.spool.mark_done(job_id)
        return was_pending

    def retry_pending(self) -> list[JobResult]:
        """Try the pending jobs now (the watcher does this by itself)."""
        return self.call(self._flush_quiet, timeout=self.job_timeout)

    def on_job(self, callback: Callable[[JobResult], None]) -> Callable[[], None]:
        """Called with each JobResult, including pending jobs printed later."""
        self._job_listeners.append(callback)
        return lambda: self._job_listeners.remove(callback) if callback in self._job_listeners else None

    # --- Device hooks --------------------------------------------------
    def _open(self) -> None:
        if self.spool.pending():
            self._start_watcher()

    def _close(self) -> None:
        self._wake.set()

    def _probe(self) -> DeviceStatus:
        with open_transport(self.url, self.io_timeout) as tr:
            if not tr.has_status:
                return st.UNKNOWN
            state = self._query(tr)
        return state.device_status(pending=len(self.spool.pending()))

    # --- internals (device thread) ---------------------------------------
    def _query(self, tr: Transport) -> st.PrinterState:
        tr.drain()
        answers = {}
        for n in (st.PRINTER, st.OFFLINE_CAUSE, st.PAPER):
            tr.write(status_query(n))
            got = read_exact(tr, 1, self.io_timeout)
            if not got:
                raise DeviceError("printing.escpos.no_answer", DeviceState.OFFLINE)
            answers[n] = got[0]
        try:
            return st.parse(answers)
        except st.StatusFormatError:
            raise DeviceError("printing.escpos.no_answer", DeviceState.HARDWARE_ERROR) from None

    def _submit(self, job_id: str, kind: str, ref: str, data: bytes) -> JobResult:
        added = self.spool.add(job_id, kind, ref, data)
        if added == "done":
            log.info("job already printed", extra={"device": self.name, "job": job_id})
            return JobResult(job_id, kind, ref, "duplicate", True, self.status())
        try:
            results = self._flush()
        except DeviceError as exc:
            exc.job_id, exc.pending = job_id, True  # type: ignore[attr-defined]
            self._start_watcher()
            raise
        result = results.get(job_id) or JobResult(job_id, kind, ref, "duplicate", True, self.status())
        result.reprinted = [j for j in results if j != job_id]
        return result

    def _flush(self) -> dict[str, JobResult]:
        """Print every pending job, oldest first; raises on the first problem."""
        results: dict[str, JobResult] = {}
        try:
            with open_transport(self.url, self.io_timeout) as tr:
                if not tr.has_status:
                    for job in self.spool.pending():
                        tr.write(job.data)
                        self.spool.mark_done(job.id)
                        results[job.id] = self._finished(job, "written", False, st.UNKNOWN)
                    self._set_status(st.UNKNOWN)
                    return results
                state = self._check(tr)
                for job in self.spool.pending():
                    if job.sent:  # sent earlier without confirmation: drop leftovers, reprint whole
                        tr.write(CLEAR_BUFFERS + INIT)
                    self.spool.mark_sent(job.id)
                    tr.write(job.data)
                    self._wait_printed(tr)
                    state = self._check(tr)
                    self.spool.mark_done(job.id)
                    results[job.id] = self._finished(job, "printed", True, state.device_status())
        except DeviceError as exc:
            self._set_status(DeviceStatus(exc.state, detail=self._detail_with_pending(exc), message=exc.text,
                                          last_error=str(exc)))
            for r in results.values():
                self._notify(r)
            raise
        self._set_status(state.device_status(pending=len(self.spool.pending())))
        for r in results.values():
            self._notify(r)
        return results

    def _check(self, tr: Transport) -> st.PrinterState:
        state = self._query(tr)
        problem = state.problem()
        if problem is not None:
            problem.printer_state = state  # type: ignore[attr-defined]
            raise problem
        return state

    def _wait_printed(self, tr: Transport) -> None:
        if self.confirm_mode != "process_id":
            return
        self._pid = (self._pid + 1) % 10000
        pid = f"{self._pid:04d}".encode()
        tr.write(process_id_request(pid))
        want = b"\x37\x22" + pid + b"\x00"
        deadline = time.monotonic() + self.job_timeout / 2
        got = b""
        while want not in got and time.monotonic() < deadline:
            got += tr.read(64, max(0.0, deadline - time.monotonic()))
        # no answer: the status query that follows says why (paper out, offline)

    def _finished(self, job, state: str, confirmed: bool, status: DeviceStatus) -> JobResult:
        warning = status.message if status.detail.get("paper") == "low" else None
        log.info("job printed", extra={"device": self.name, "job": job.id, "kind": job.kind, "state": state})
        return JobResult(job.id, job.kind, job.ref, state, confirmed, status, warning)

    def _detail_with_pending(self, exc: DeviceError) -> dict:
        ps = getattr(exc, "printer_state", None)
        detail = ps.device_status().detail if ps is not None else dict(self._status.detail)
        detail["pending"] = len(self.spool.pending())
        return detail

    def _notify(self, result: JobResult) -> None:
        for cb in list(self._job_listeners):
            try:
                cb(result)
            except Exception:
                log.exception("job listener failed")

    def _flush_quiet(self) -> list[JobResult]:
        try:
            return list(self._flush().values())
        except DeviceError:
            return []

    def _start_watcher(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._wake.clear()
        self._watcher = threading.Thread(target=self._watch, name=f"spool-{self.name}", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._closed:
            if self._wake.wait(self.retry_interval) or self._closed:
                return
            if not self.spool.pending():
                return
            try:
                self.call(self._flush_quiet, timeout=self.job_timeout)
            except DeviceError:
                pass
