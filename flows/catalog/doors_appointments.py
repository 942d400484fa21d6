"""Step functions of the appointment service (预约): book, check in, change."""

from __future__ import annotations

import datetime as dt

from kiosk.core.i18n import text
from kiosk.core.masking import mask_name

from ..engine import Choice, Job, Session, raw_text
from ..steps.scan import scanner
from .doors_functions import slip_base
from .functions import fn, row

SLIP_PREFIX = "HKAP1."
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _when(a: dict) -> dict:
    d = dt.date.fromisoformat(a["day"])
    return raw_text(f"{d:%m-%d} 周{WEEKDAYS[d.weekday()]} {a['start']}",
                    f"{WEEKDAYS_EN[d.weekday()]} {d:%m-%d} {a['start']}")


@fn
def appt_ways(s: Session) -> list[Choice]:
    return [Choice("book", "doors.appt.book", detail="doors.appt.book_detail"),
            Choice("check_in", "doors.appt.check_in", detail="doors.appt.check_in_detail"),
            Choice("change", "doors.appt.change", detail="doors.appt.change_detail")]


@fn
def appt_after_way(s: Session) -> str:
    return "checkin_how" if s.data.get("way") == "check_in" else "card"


@fn
def appt_after_card(s: Session) -> str:
    return "business" if s.data.get("way") == "book" else "mine"


@fn
def appt_slot_choices(s: Session) -> list[Choice]:
    slots = s.data.get("slots")
    if slots is None or s.data.get("slots_for") != s.data.get("business"):
        slots = s.services.backend("appointment_slots", business=s.data["business"])
        s.data["slots"], s.data["slots_for"] = slots, s.data["business"]
    return [Choice(x["slot_id"], _when(x), detail=text("doors.appt.free", n=x["free"]), enabled=x["free"] > 0,
                   reason=None if x["free"] > 0 else "doors.refused.slot_full") for x in slots[:24]]


@fn
def appt_after_slot(s: Session) -> str:
    return "reschedule" if s.data.get("way") == "change" else "rules"


@fn
def appt_book(job: Job, s: Session) -> dict:
    return s.services.backend("appointment_book", slot_id=s.data["slot"], id_number=s.data["applicant"].id_number)


@fn
def appt_reschedule(job: Job, s: Session) -> dict:
    a = s.data["mine"][int(s.data["appointment_index"])]
    return s.services.backend("appointment_reschedule", appointment_id=a["appointment_id"],
                              id_number=s.data["applicant"].id_number, slot_id=s.data["slot"])


@fn
def appt_booked_show(s: Session) -> None:
    a = s.data["appointment"]
    s.set_result(status="ok", headline=text("doors.appt.booked").as_dict(),
                 rows=[row("doors.appt.business", raw_text(a["name_zh"], a["name_en"])),
                       row("doors.appt.when", _when(a)), row("doors.appt.counters", a["counters"])])


@fn
def appt_case(s: Session) -> dict:
    a = s.data["appointment"]
    return {"service": "appointment", "applicant": s.data["applicant"],
            "result": {"status": "booked", "appointment_id": a["appointment_id"], "business": a["business"],
                       "slot": f"{a['day']} {a['start']}"}}


@fn
def appt_slip(s: Session) -> dict:
    a = s.data["appointment"]
    when = _when(a)
    slip = slip_base(s, "doors.appt.slip_title", a["appointment_id"])
    rules = text("doors.appt.rules")
    slip.update(body=[f"{a['name_zh']} {a['name_en']}", f"{when['zh']}  ({when['en']})",
                      f"{text('doors.appt.counters').zh}: {a['counters']}",
                      f"{text('doors.appt.holder').zh}: {mask_name(s.data['applicant'].name)}", "",
                      rules.zh],
                qr=f"{a['code']}.{a['business']}", qr_label=text("doors.appt.slip_scan").zh,
                job_id=f"appointment-{a['appointment_id']}-{a['slot_id']}")
    return slip


# --------------------------------------------------------------- check-in

@fn
def appt_checkin_ways(s: Session) -> list[Choice]:
    can_scan = scanner(s) is not None
    return [Choice("scan_slip", "doors.appt.scan_slip", enabled=can_scan,
                   reason=None if can_scan else "doors.scan.no_scanner"),
            Choice("id_card", "doors.progress.by_id")]


@fn
def appt_after_checkin_way(s: Session) -> str:
    return "slip" if s.data.get("checkin_way") == "scan_slip" else "checkin_card"


@fn
def appt_accept_slip(s: Session, scanned: str) -> str | None:
    parts = (scanned or "").strip().split(".")
    if len(parts) != 3 or f"{parts[0]}." != SLIP_PREFIX or not parts[1] or not parts[2]:
        return "doors.appt.not_slip"
    s.data["slip_code"], s.data["business"] = f"{parts[0]}.{parts[1]}", parts[2]
    return None


@fn
def appt_check_in(job: Job, s: Session) -> dict:
    person = s.data.get("applicant")
    return s.services.backend("appointment_check_in", code=s.data.get("slip_code"),
                              id_number=person.id_number if person is not None else None,
                              business=s.data.get("business"))


@fn
def appt_after_check_in(s: Session) -> str:
    return "ticket_commit" if s.data["checkin"].get("number") else "fallback_business"


@fn
def appt_fallback(job: Job, s: Session) -> dict:
    return s.services.backend("appointment_check_in", business=s.data["business"])


@fn
def appt_checkin_show(s: Session) -> None:
    c = s.data["checkin"]
    if not c.get("number"):
        return
    s.set_result(ticket=c["number"], offline=bool(c["offline"]), counters=str(c.get("counters") or ""))


@fn
def appt_take_show(s: Session) -> None:
    s.delivered = True   # the ticket is printed: nothing left to cancel
    if s.data["checkin"].get("offline"):
        s.set_message("doors.appt.offline_note")


@fn
def appt_checkin_case(s: Session) -> dict:
    c = s.data["checkin"]
    return {"service": "appointment", "applicant": s.data.get("applicant"),
            "result": {"status": "checked_in" if c.get("priority") else "ticket", "ticket": c["number"],
                       "business": c.get("business"), "offline": bool(c["offline"])}}


@fn
def appt_ticket(s: Session) -> dict:
    c = s.data["checkin"]
    label = text("doors.appt.priority_ticket" if c.get("priority") else "doors.appt.offline_ticket")
    return {"number": c["number"], "waiting": None if c["offline"] else 0, "counters": str(c.get("counters") or ""),
            "service": f"{c.get('name_zh', '')} {label.zh}", "service_en": f"{c.get('name_en', '')} {label.en}",
            "hall": s.services.config_get("terminal.hall", ""),
            "hall_en": s.services.config_get("terminal.hall_en", ""),
            "time": dt.datetime.now().replace(microsecond=0).isoformat(sep=" "), "follow_url": ""}


# --------------------------------------------------------------- change or cancel

@fn
def appt_mine(job: Job, s: Session) -> list:
    return s.services.backend("appointment_mine", id_number=s.data["applicant"].id_number)


@fn
def appt_after_mine(s: Session) -> str:
    return "appointments" if s.data["mine"] else "no_appointments"


@fn
def appt_mine_choices(s: Session) -> list[Choice]:
    return [Choice(str(i), raw_text(a["name_zh"], a["name_en"]), detail=_when(a)) for i, a in enumerate(s.data["mine"])]


@fn
def appt_manage_show(s: Session) -> None:
    a = s.data["mine"][int(s.data["appointment_index"])]
    s.data["business"] = a["business"]
    s.set_result(status="ok", headline=raw_text(a["name_zh"], a["name_en"]),
                 rows=[row("doors.appt.when", _when(a)), row("doors.appt.counters", a["counters"])])
    s.set_message("doors.appt.rules")


@fn
def appt_cancel(job: Job, s: Session) -> dict:
    a = s.data["mine"][int(s.data["appointment_index"])]
    return s.services.backend("appointment_cancel", appointment_id=a["appointment_id"],
                              id_number=s.data["applicant"].id_number)
