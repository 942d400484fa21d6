"""Step types of the hall's other front doors (docs/doors.md).

``scan``: waits for one QR code on the scanner (a receipt, an appointment
slip); ``options["accept"](session, text)`` returns None when the code is
taken (stored under ``store``) or the catalog key of why not, shown with
"scan again".  The resident may go back (or use the ID card on the next
screen); the read ends when the step is left.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kiosk.core.i18n import text

from ..engine import Job, Session, Step
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


def _scan(job: Job, dev: Any) -> Any:
    scan = read_scan(job, dev)
    if scan is not None:
        job.person_done()
    return scan


DOORS_STEPS = {"scan": ScanStep, "choice_result": ChoiceResultStep}
