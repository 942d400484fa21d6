"""Step types of the hall's other front doors (docs/doors.md).

``scan``: waits for one QR code on the scanner (a receipt, an appointment
slip); ``options["accept"](session, text)`` returns None when the code is
taken (stored under ``store``) or the catalog key of why not, shown with
"scan again".  The resident may go back (or use the ID card on the next
screen); the read ends when the step is left.

``scan_form``: a form that the scanner fills too (data only): ``scan:
{field, pattern}`` takes the first match of the regular expression
``pattern`` in a scanned code (a business licence's QR holds a link with the
credit code in it) as the field's value and submits the form; typing stays
the way for a resident without the code to scan or a terminal without a
scanner.  A code without a match asks to scan again or type.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from kiosk.core.i18n import text

from ..engine import FlowError, Job, Session, Step
from .basic import ResultStep
from .scan import read_scan, scanner


class ScanStep(Step):
    view = "message"

    defaults: ClassVar[dict] = {
        "devices": ["scanner"],
        "timeout_s": 60.0,
    }

    def enter(self, s: Session) -> None:
        super().enter(s)
        dev = scanner(s)
        if dev is None:
            s.fail_here(None, retry=True, message="doors.scan.no_scanner")
            return
        s.start_job("scan", _scan, dev, person=True)

    def on_device(self, s: Session, event: dict) -> None:
        if event.get("event") == "scan_again":
            s.set_hint("resident_code.hint.scan_again")

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        if result is None:
            return
        problem = self.options["accept"](s, result.text)
        if problem:
            s.fail_here(None, retry=True, message=text(problem), actions=["retry", "counter"])
            return
        s.go(self.next_step(s), cause="scanned")


class ChoiceResultStep(ResultStep):
    """A result (or message) screen whose buttons lead to different steps:
    ``goto: {action: step id}`` (e.g. print the slip, or finish)."""

    def on_action(self, s: Session, action: str) -> bool:
        target = (self.options.get("goto") or {}).get(action)
        if target:
            s.go(target, cause=f"tap:{action}")
            return True
        return super().on_action(s, action)


class ScanFormStep(Step):
    view = "form"

    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        spec = self.options.get("scan") or {}
        if not spec.get("field") or not spec.get("pattern") or spec["field"] not in {f.name for f in self.fields}:
            raise FlowError(f"step {id}: scan needs field (one of the form's) and pattern")
        self.pattern = re.compile(spec["pattern"])

    def enter(self, s: Session) -> None:
        super().enter(s)
        self.listen(s)

    def listen(self, s: Session) -> None:
        dev = scanner(s)
        if dev is not None:   # no scanner: the form is typed, as before
            s.start_job("scan", _scan, dev, person=True)

    def on_device(self, s: Session, event: dict) -> None:
        if event.get("event") == "scan_again":
            s.set_hint("resident_code.hint.scan_again")

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        if result is None:
            return
        found = self.pattern.search(str(result.text).upper())
        if found is None:
            s.journal_note("scan_unrecognised")
            s.set_hint(self.options.get("scan_wrong", "flows.scan_form.wrong"))
            self.listen(s)
            return
        s.journal_note("scanned")
        s.local.setdefault("values", {})[self.options["scan"]["field"]] = found.group(0)
        s.local.pop("hint", None)
        self.submit(s)
        if s.local.get("errors"):   # a code the form refuses: the error shows, scan or type again
            self.listen(s)

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.journal_note("scan_failed")   # the scanner broke: typing is still there


def _scan(job: Job, dev: Any) -> Any:
    scan = read_scan(job, dev)
    if scan is not None:
        job.person_done()
    return scan


DOORS_STEPS = {"scan": ScanStep, "choice_result": ChoiceResultStep, "scan_form": ScanFormStep}
