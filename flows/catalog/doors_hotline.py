"""Step functions of complaints and consultation (投诉/咨询, the 12345 hotline)."""

from __future__ import annotations

from kiosk.core.i18n import text
from kiosk.core.masking import mask_phone, mask_text

from ..engine import Choice, Session, raw_text
from .functions import fn, receipt_for, row

# category -> (department it goes to, typical topics)
CATEGORIES = {
    "city": ("city_management", ["noise", "garbage", "road_damage", "street_lights"]),
    "traffic": ("transport", ["bus_service", "parking", "traffic_signals"]),
    "social": ("human_resources", ["wages_unpaid", "insurance_benefits", "pension"]),
    "housing": ("housing", ["property_management", "repairs", "rent_disputes"]),
    "market": ("market_regulation", ["food_safety", "prices", "consumer_rights"]),
    "services": ("service_office", ["waiting_time", "staff_attitude", "terminal_fault"]),
}
OWN_WORDS = "own_words"


@fn
def hotline_kinds(s: Session) -> list[Choice]:
    return [Choice(k, f"doors.hotline.kind.{k}", detail=f"doors.hotline.kind_detail.{k}")
            for k in ("complaint", "consultation", "suggestion")]


@fn
def hotline_categories(s: Session) -> list[Choice]:
    return [Choice(c, f"doors.hotline.category.{c}") for c in CATEGORIES]


@fn
def hotline_topics(s: Session) -> list[Choice]:
    topics = CATEGORIES[s.data["category"]][1]
    return [Choice(t, f"doors.hotline.topic.{t}") for t in topics] + \
        [Choice(OWN_WORDS, "doors.hotline.own_words", detail="doors.hotline.own_words_detail")]


@fn
def hotline_check_details(s: Session, values: dict) -> dict | None:
    if s.data.get("topic") == OWN_WORDS and not values.get("content"):
        return {"content": "doors.hotline.need_words"}
    return None


@fn
def hotline_confirm_show(s: Session) -> None:
    kind, category, topic = s.data["kind"], s.data["category"], s.data["topic"]
    rows = [row("doors.hotline.kind_label", text(f"doors.hotline.kind.{kind}").as_dict()),
            row("doors.hotline.category_label", text(f"doors.hotline.category.{category}").as_dict()),
            row("doors.hotline.topic_label", text("doors.hotline.own_words" if topic == OWN_WORDS
                                            else f"doors.hotline.topic.{topic}").as_dict())]
    if s.data.get("content"):
        rows.append({"label": text("doors.hotline.content").as_dict(), "value": raw_text(mask_text(s.data["content"]))})
    phone = s.data.get("phone")
    rows.append(row("doors.hotline.contact", mask_phone(phone) if phone else text("doors.hotline.anonymous").as_dict()))
    rows.append(row("doors.hotline.department_label",
                    text(f"doors.hotline.department.{CATEGORIES[category][0]}").as_dict()))
    s.set_result(status="ok", headline=text("doors.hotline.confirm_headline").as_dict(), rows=rows)


@fn
def hotline_case(s: Session) -> dict:
    category = s.data["category"]
    department = text(f"doors.hotline.department.{CATEGORIES[category][0]}")
    person = s.data.get("applicant")
    applicant = {"phone": s.data["phone"]} if s.data.get("phone") else {}
    if person is not None:
        applicant.update(name=person.name, id_number=person.id_number)
    return {"service": "hotline_12345", "applicant": applicant,
            "result": {"status": "submitted", "kind": s.data["kind"], "category": category, "topic": s.data["topic"],
                       "department": department.zh, "department_en": department.en},
            "extra": {"content": s.data.get("content") or ""}}


@fn
def hotline_receipt(s: Session) -> dict:
    return receipt_for(s, "hotline_submitted")   # no contact on paper: the reference is what follows it
