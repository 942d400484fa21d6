"""A4 printer driver: PDFs over IPP (``ipp://``, ``ipps://``) or through CUPS (``cups://Queue``).

``print_pdf`` checks the printer first (a printer out of paper, open or jammed
gets no job), submits with Print-Job and follows the job with
Get-Job-Attributes until it is completed, canceled or aborted.  Anything but
completed raises ``PrintFailed`` carrying the ``JobResult`` and the reason, so
a failed certificate is never reported as printed.  A job that cannot finish
(the printer stalls on a fault, or the time runs out) is cancelled rather than
left queued: a certificate with personal data must not come out of the printer
after the resident has gone.

printer-state-reasons keywords are matched without their severity suffix
(``-report``/``-warning``/``-error``): printers differ in which suffix they
use for the same condition (ippeveprinter's depends on whether it is idle).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from devices.base import Device, DeviceError, DeviceState, DeviceStatus
from kiosk.core.i18n import text

from .ipp import (
    JOB_STATES,
    KEYWORD,
    PRINTER_STATES,
    TERMINAL_JOB_STATES,
    AttributeGroup,
    IppClient,
    IppConnectionError,
    IppError,
)

log = logging.getLogger(__name__)

_SEVERITY_SUFFIXES = ("-report", "-warning", "-error")

# keyword -> (state, detail changes, catalog key); first matching row of the
# most severe state wins the message.  Warnings keep the printer usable.
REASONS: dict[str, tuple[DeviceState, dict, str]] = {
    "media-empty": (DeviceState.USER_ERROR, {"paper": "out"}, "a4.paper_out"),
    "media-needed": (DeviceState.USER_ERROR, {"paper": "out"}, "a4.paper_out"),
    "media-jam": (DeviceState.HARDWARE_ERROR, {"paper": "jam"}, "a4.paper_jam"),
    "door-open": (DeviceState.USER_ERROR, {"cover": "open"}, "a4.cover_open"),
    "cover-open": (DeviceState.USER_ERROR, {"cover": "open"}, "a4.cover_open"),
    "interlock-open": (DeviceState.USER_ERROR, {"cover": "open"}, "a4.cover_open"),
    "input-tray-missing": (DeviceState.USER_ERROR, {"tray": "missing"}, "a4.tray_missing"),
    "toner-empty": (DeviceState.USER_ERROR, {"toner": "empty"}, "a4.toner_empty"),
    "marker-supply-empty": (DeviceState.USER_ERROR, {"toner": "empty"}, "a4.toner_empty"),
    "marker-waste-full": (DeviceState.USER_ERROR, {"waste": "full"}, "a4.waste_full"),
    "offline": (DeviceState.OFFLINE, {}, "a4.offline"),
    "shutdown": (DeviceState.OFFLINE, {}, "a4.offline"),
    "connecting-to-device": (DeviceState.OFFLINE, {}, "a4.offline"),
    "timed-out": (DeviceState.OFFLINE, {}, "a4.offline"),
    "paused": (DeviceState.OFFLINE, {"paused": True}, "a4.paused"),
    "spool-area-full": (DeviceState.HARDWARE_ERROR, {}, "a4.spool_full"),
    "fuser-over-temp": (DeviceState.HARDWARE_ERROR, {}, "a4.hardware"),
    "fuser-under-temp": (DeviceState.HARDWARE_ERROR, {}, "a4.hardware"),
}
WARNINGS: dict[str, tuple[dict, str]] = {
    "media-low": ({"paper": "low"}, "a4.paper_low"),
    "toner-low": ({"toner": "low"}, "a4.toner_low"),
    "marker-supply-low": ({"toner": "low"}, "a4.toner_low"),
    "marker-waste-almost-full": ({"waste": "almost-full"}, "a4.waste_almost_full"),
}
_SEVERITY = [DeviceState.OFFLINE, DeviceState.HARDWARE_ERROR, DeviceState.USER_ERROR]


def base_reason(keyword: str) -> str:
    for suffix in _SEVERITY_SUFFIXES:
        if keyword.endswith(suffix):
            return keyword[: -len(suffix)]
    return keyword


def map_printer_status(attrs: AttributeGroup | dict) -> DeviceStatus:
    """printer-state / printer-state-reasons / printer-is-accepting-jobs -> the common status."""
    get = attrs.all if isinstance(attrs, AttributeGroup) else (lambda n: _as_list(attrs.get(n)))
    reasons = [base_reason(str(r)) for r in get("printer-state-reasons") if r and r != "none"]
    state_code = (get("printer-state") or [3])[0]
    accepting = (get("printer-is-accepting-jobs") or [True])[0]
    detail: dict = {"paper": "full", "cover": "closed", "toner": "ok", "reasons": reasons,
                    "printer_state": PRINTER_STATES.get(state_code, str(state_code)), "warnings": []}
    worst: tuple[int, str] | None = None  # (severity index, catalog key)
    for reason in reasons:
        if reason in REASONS:
            state, changes, key = REASONS[reason]
            detail.update(changes)
            rank = _SEVERITY.index(state)
            if worst is None or rank < worst[0]:
                worst = (rank, key)
        elif reason in WARNINGS:
            changes, key = WARNINGS[reason]
            detail.update(changes)
            detail["warnings"].append(reason)
    if worst is not None:
        return DeviceStatus(_SEVERITY[worst[0]], detail, message=text(worst[1]))
    busy_or_online = DeviceState.BUSY if state_code == 4 else DeviceState.ONLINE
    if state_code == 5:  # stopped without a reason we know
        return DeviceStatus(DeviceState.HARDWARE_ERROR, detail, message=text("a4.stopped"))
    if not accepting:
        return DeviceStatus(DeviceState.OFFLINE, detail, message=text("a4.not_accepting"))
    if detail["warnings"]:
        return DeviceStatus(busy_or_online, detail, message=text(WARNINGS[detail["warnings"][0]][1]))
    return DeviceStatus(busy_or_online, detail)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass
class JobResult:
    """What became of one print job."""

    ok: bool
    job_id: int | None
    state: str                      # completed | canceled | aborted | refused | timeout
    reasons: list[str] = field(default_factory=list)       # job-state-reasons
    message: str = ""               # job-state-message from the printer
    states_seen: list[str] = field(default_factory=list)   # e.g. pending, processing, completed
    warnings: list[str] = field(default_factory=list)      # printer warnings while printing (toner-low...)
    seconds: float = 0.0
    printer: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class PrintFailed(DeviceError):
    """The job was refused, cancelled, aborted or timed out; ``result`` says which."""

    def __init__(self, key: str, result: JobResult, state: DeviceState | None = None, **kwargs):
        super().__init__(key, state, **kwargs)
        self.result = result


class A4Printer(Device):
    family: ClassVar[str] = "a4"
    schemes: ClassVar[tuple[str, ...]] = ("ipp", "ipps", "cups")
    default_timeout_s: ClassVar[float] = 10.0

    poll_s = 0.2
    fault_grace_s = 15.0  # a job stalled on a printer fault this long is cancelled

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        self._client: IppClient | None = None
        self.fault_grace_s = float(self.options.get("fault_grace_s", self.fault_grace_s))
        self.print_timeout_s = float(self.options.get("print_timeout_s", 120.0))

    # --- Device hooks ---
    def _open(self) -> None:
        try:
            self._client = IppClient(self.url, timeout=float(self.options.get("ipp_timeout_s", 10.0)))
        except ValueError as exc:
            raise DeviceError("a4.bad_url", DeviceState.NO_DEVICE, url=self.url, problem=str(exc)) from None

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _probe(self) -> DeviceStatus:
        return map_printer_status(self._attributes())

    def _attributes(self) -> AttributeGroup:
        if self._client is None:
            self._open()
        try:
            return self._client.get_printer_attributes()  # type: ignore[union-attr]
        except IppConnectionError as exc:
            raise DeviceError("a4.unreachable", DeviceState.OFFLINE, url=self.url, reason=str(exc)) from None
        except IppError as exc:
            raise DeviceError("a4.protocol", DeviceState.HARDWARE_ERROR, reason=str(exc)) from None

    # --- printing ---
    def print_pdf(self, pdf: bytes, title: str, timeout: float | None = None) -> JobResult:
        """Print and follow to the end; returns the completed job or raises ``PrintFailed``/``DeviceError``."""
        timeout = self.print_timeout_s if timeout is None else timeout
        # the device thread enforces the deadline itself; the extra margin covers Cancel-Job
        return self.call(self._print, pdf, title, timeout, timeout=timeout + 15)

    def follow_job(self, job_id: int, timeout: float | None = None) -> JobResult:
        """Follow a job already on the printer (e.g. after a restart) to its end."""
        timeout = self.print_timeout_s if timeout is None else timeout
        return self.call(self._follow, job_id, time.monotonic() + timeout, [], time.monotonic(), timeout=timeout + 15)

    def _print(self, pdf: bytes, title: str, timeout: float) -> JobResult:
        started = time.monotonic()
        if not pdf.startswith(b"%PDF-"):
            raise DeviceError("a4.not_pdf", DeviceState.ONLINE)
        status = self._probe()
        self._set_status(status)
        if not status.usable:
            result = JobResult(False, None, "refused", reasons=status.detail.get("reasons", []),
                               message=status.message.en if status.message else status.device.value,
                               printer=self.name)
            log.warning("print refused", extra={"device": self.name, "reasons": result.reasons})
            raise PrintFailed(status.message.key if status.message else "a4.stopped", result, status.device)
        try:
            job = self._client.print_job(pdf, title, job_attrs=[("media", KEYWORD, "iso_a4_210x297mm")],  # type: ignore[union-attr]
                                         busy_wait=max(0.0, started + timeout - time.monotonic()))
        except IppConnectionError as exc:
            raise DeviceError("a4.unreachable", DeviceState.OFFLINE, url=self.url, reason=str(exc)) from None
        except IppError as exc:
            if exc.status is not None and 0x0400 <= exc.status < 0x0600:
                result = JobResult(False, None, "refused", message=str(exc), printer=self.name,
                                   seconds=time.monotonic() - started)
                raise PrintFailed("a4.rejected", result, DeviceState.USER_ERROR, reason=str(exc)) from None
            raise DeviceError("a4.protocol", DeviceState.HARDWARE_ERROR, reason=str(exc)) from None
        job_id = int(job.one("job-id"))
        seen = [JOB_STATES.get(job.one("job-state"), "pending")]
        log.info("print job submitted", extra={"device": self.name, "job_id": job_id, "bytes": len(pdf)})
        return self._follow(job_id, started + timeout, seen, started)

    def _follow(self, job_id: int, deadline: float, seen: list[str], started: float) -> JobResult:
        assert self._client is not None
        warnings: set[str] = set()
        stalled_since: float | None = None
        fault_key: str | None = None
        job = AttributeGroup(0)
        while True:
            try:
                job = self._client.get_job_attributes(job_id)
                printer = self._client.get_printer_attributes()
            except IppConnectionError as exc:
                # the printer went away mid-job: we cannot know whether it printed
                result = JobResult(False, job_id, "unknown", message=str(exc), states_seen=seen,
                                   seconds=time.monotonic() - started, printer=self.name)
                raise PrintFailed("a4.lost", result, DeviceState.OFFLINE, job=job_id, reason=str(exc)) from None
            state_code = job.one("job-state")
            state = JOB_STATES.get(state_code, str(state_code))
            if seen[-1:] != [state]:
                seen.append(state)
            status = map_printer_status(printer)
            self._set_status(status)
            warnings.update(status.detail.get("warnings", []))
            if state_code in TERMINAL_JOB_STATES:
                break
            now = time.monotonic()
            if not status.usable:
                stalled_since = stalled_since or now
                fault_key = status.message.key if status.message else "a4.stopped"
            else:
                stalled_since, fault_key = None, None
            stalled = stalled_since is not None and now - stalled_since >= self.fault_grace_s
            if stalled or now >= deadline or self.cancelled:
                return self._give_up(job_id, job, seen, warnings, started, fault_key,
                                     "cancelled" if self.cancelled else "timeout")
            time.sleep(self.poll_s)
        result = JobResult(
            ok=state_code == 9, job_id=job_id, state=state, reasons=job.all("job-state-reasons"),
            message=str(job.one("job-state-message", "") or "").strip(), states_seen=seen,
            warnings=sorted(warnings), seconds=time.monotonic() - started, printer=self.name,
        )
        if result.ok:
            log.info("print job completed", extra={"device": self.name, "job_id": job_id,
                                                   "seconds": round(result.seconds, 2)})
            return result
        reason = result.message or ", ".join(result.reasons) or state
        log.warning("print job failed", extra={"device": self.name, "job_id": job_id, "state": state, "reason": reason})
        key = "a4.job_canceled" if state_code == 7 else "a4.job_aborted"
        raise PrintFailed(key, result, DeviceState.HARDWARE_ERROR if state_code == 8 else DeviceState.ONLINE,
                          job=job_id, reason=reason)

    def _give_up(self, job_id: int, job: AttributeGroup, seen: list[str], warnings: set[str], started: float,
                 fault_key: str | None, why: str) -> JobResult:
        try:
            self._client.cancel_job(job_id)  # type: ignore[union-attr]
            seen.append("canceled")
        except IppError as exc:
            log.warning("could not cancel job", extra={"device": self.name, "job_id": job_id, "reason": str(exc)})
        reason_text = text(fault_key) if fault_key else None
        result = JobResult(False, job_id, why, reasons=job.all("job-state-reasons"),
                           message=reason_text.en if reason_text else why, states_seen=seen,
                           warnings=sorted(warnings), seconds=time.monotonic() - started, printer=self.name)
        log.warning("print job given up", extra={"device": self.name, "job_id": job_id, "why": why, "fault": fault_key})
        if fault_key:
            raise PrintFailed("a4.job_stalled", result, self.status().device, job=job_id,
                              reason=reason_text.zh if reason_text else "",
                              reason_en=reason_text.en if reason_text else "")
        raise PrintFailed("a4.job_timeout", result, DeviceState.OFFLINE, job=job_id,
                          seconds=f"{result.seconds:.0f}")

    def describe(self, refresh: bool = False) -> dict:
        info = super().describe(refresh)
        info["endpoint"] = self._client.endpoint.printer_uri if self._client else None
        return info
