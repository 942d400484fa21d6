"""The resident code (居民码) as an identity on the card screen.

A service whose ``identify`` block says ``resident_code: true`` reads a card
and, at the same time, listens on the scanner.  A genuine code (signature
against the pinned platform key, at most 60 s old, nonce not used before:
checked by ``services.backend("resident_code")``) stands for the card and
for face verification (the resident's phone app has verified the person):
the flow continues at ``code_next``.  A replayed, expired, forged or
foreign code is refused with its own message and "scan again".
"""

from __future__ import annotations

from typing import Any

from kiosk.core import logs

from ..engine import Job, Session, Step
from .scan import read_scan, scanner


def code_ready(s: Session) -> bool:
    if scanner(s) is None:
        return False
    try:
        return bool(s.services.backend("resident_code_ready"))
    except (KeyError, OSError, ValueError):  # no such back-end here, key unreadable
        return False


def start_code_scan(s: Session) -> None:
    if not code_ready(s):
        return
    s.local["prompt"] = "resident_code.prompt_either"
    s.start_job("resident_code", _scan_code, s, scanner(s), person=True)


def _scan_code(job: Job, s: Session, dev: Any) -> dict | None:
    scan = read_scan(job, dev)
    if scan is None:
        return None
    job.person_done()
    job.post({"type": "device", "event": "code_scanned"})
    return s.services.backend("resident_code", text=scan.text)


def accept_code(step: Step, s: Session, result: dict | None) -> None:
    if not result:
        return
    identity = result["identity"]
    store = step.store
    s.data[store] = identity
    s.data[f"{store}_card"] = "resident_code"
    logs.remember_personal(name=identity.name, numbers=[identity.id_number])
    role = step.options.get("role", "applicant")
    s.data[f"{role}_verified"] = {"method": "resident_code", "by": "resident_code", "online": result["online"]}
    s.journal_note("resident_code", online=result["online"])
    target = step.options.get("code_next")
    if callable(target):
        target = target(s)
    s.go(target or step.next_step(s), cause="resident_code")
