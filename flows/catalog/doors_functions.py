"""Step functions of the hall's other front doors (progress lookup,
appointments, service guide, complaints); conventions as in functions.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.core.i18n import text

from ..engine import Choice, Job, Session, raw_text, text_dict
from ..steps.scan import scanner
from .functions import fn, row

VERIFY_PATH = "/v1/verify/"


def words(key: str, fallback: str = "", **kw: Any) -> dict:
    """Catalog text, or the raw value when the catalog has no such key."""
    t = text(key, **kw)
    return t.as_dict() if t.zh != key else raw_text(fallback or key)


def service_title(s: Session, service: str) -> dict:
    """A service's name from this terminal's catalog (the id when unknown here)."""
    try:
        return text_dict(s.services.flow(service).title)
    except (KeyError, AttributeError):
        return words(f"flows.svc.{service}.title", service)


def _short_time(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(value or "")


def slip_base(s: Session, title: str, ref: str = "") -> dict:
    t = text(title)
    return {"title": t.zh, "title_en": t.en, "hall": s.services.config_get("terminal.hall", ""),
            "hall_en": s.services.config_get("terminal.hall_en", ""), "ref": ref,
            "time": dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")}


# --------------------------------------------------------------- progress lookup

@fn
def progress_ways(s: Session) -> list[Choice]:
    can_scan = scanner(s) is not None
    return [Choice("by_id", "doors.progress.by_id", detail="doors.progress.by_id_detail"),
            Choice("by_receipt", "doors.progress.by_receipt", detail="doors.progress.by_receipt_detail",
                   enabled=can_scan, reason=None if can_scan else "doors.scan.no_scanner")]


@fn
def progress_after_way(s: Session) -> str:
    return "receipt" if s.data.get("way") == "by_receipt" else "card"


def ref_of(text_: str) -> str | None:
    """The case reference a receipt's QR names (``.../v1/verify/<ref>``), or None."""
    value = (text_ or "").strip()
    if VERIFY_PATH in value:
        value = value.rsplit(VERIFY_PATH, 1)[1].split("?")[0].strip("/")
    if not value or len(value) > 128 or not all(c.isalnum() or c in "-_" for c in value):
        return None
    return value if value.count("-") >= 2 else None


@fn
def progress_accept_receipt(s: Session, scanned: str) -> str | None:
    ref = ref_of(scanned)
    if ref is None:
        return "doors.progress.not_receipt"
    s.data["ref"] = ref
    return None


@fn
def progress_lookup(job: Job, s: Session) -> dict:
    if s.data.get("ref"):
        return s.services.backend("progress", ref=s.data["ref"])
    return s.services.backend("progress", id_number=s.data["applicant"].id_number)


@fn
def progress_after_lookup(s: Session) -> str:
    cases = s.data["progress"]["cases"]
    if len(cases) == 1 and s.data.get("ref"):
        s.data["case_index"] = "0"
        return "detail"
    return "cases" if cases else "none"


@fn
def progress_cases_enter(s: Session) -> None:
    if s.data["progress"].get("offline"):
        s.set_message("doors.progress.offline_note")


@fn
def progress_case_choices(s: Session) -> list[Choice]:
    out = []
    for i, case in enumerate(s.data["progress"]["cases"]):
        status = words(f"doors.progress.status.{case['status']}", case["status"])
        out.append(Choice(str(i), service_title(s, case["service"]),
                          detail=raw_text(f"{case['ref']}  {_short_time(case['created_at'])}  {status['zh']}",
                                          f"{case['ref']}  {_short_time(case['created_at'])}  {status['en']}")))
    return out


def _event(e: dict) -> dict:
    return words(f"doors.progress.event.{e['code']}", e["code"], terminal=e.get("terminal_id") or "",
                 department=e.get("department") or "", department_en=e.get("department_en") or "",
                 slot=e.get("slot") or "")


@fn
def progress_detail(s: Session) -> None:
    progress = s.data["progress"]
    case = progress["cases"][int(s.data["case_index"])]
    status = words(f"doors.progress.status.{case['status']}", case["status"])
    rows = [row("doors.progress.ref", case["ref"]), row("doors.progress.status_label", status)]
    if case.get("due"):
        rows.append(row("doors.progress.due", case["due"]))
    rows += [{"label": raw_text(_short_time(e["at"])), "value": _event(e)} for e in case["timeline"]]
    s.set_result(status="ok", headline=service_title(s, case["service"]), rows=rows,
                 offline=bool(progress.get("offline")))
    if progress.get("offline"):
        s.set_message("doors.progress.offline_note")


@fn
def progress_slip(s: Session) -> dict:
    case = s.data["progress"]["cases"][int(s.data["case_index"])]
    title, status = service_title(s, case["service"]), words(f"doors.progress.status.{case['status']}", case["status"])
    body = [f"{title['zh']} {title['en']}", f"{text('doors.progress.ref').zh}: {case['ref']}",
            f"{text('doors.progress.status_label').zh}: {status['zh']} {status['en']}"]
    if case.get("due"):
        body.append(f"{text('doors.progress.due').zh}: {case['due']}")
    for e in case["timeline"]:
        ev = _event(e)
        body.append(f"{_short_time(e['at'])} {ev['zh']}")
    if s.data["progress"].get("offline"):
        body.append(text("doors.progress.offline_note").zh)
    slip = slip_base(s, "doors.progress.slip_title", case["ref"])
    slip.update(body=body, qr=s.services.verify_url(case["ref"]), qr_label=text("printing.receipt.scan").zh,
                job_id=f"progress-{case['ref']}-{s.id}")
    return slip

