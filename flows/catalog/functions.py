"""The small step functions the catalog files name with ``@name``.

Conventions (see flows/catalog/__init__.py): ``run`` functions take
``(job, session)`` and run off the caller's thread; ``show``/``enter``/``accept``
take the session; ``next`` returns a step id; ``choices`` returns Choices;
``check`` takes ``(session, values)`` and returns an errors dict; field
``validate`` takes ``(value, session)``; ``case`` returns the commit arguments;
``build`` returns a PDF (bytes) or an ESC/POS job dict; ``order`` a payment order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kiosk.core.i18n import text
from kiosk.core.masking import mask_card_number, mask_id_number, mask_name

from ..jobs import Job
from ..model import Choice, raw_text, text_dict
from ..session import Session
from ..validators import plate_kind

FUNCTIONS: dict[str, Callable] = {}


def fn(f: Callable) -> Callable:
    FUNCTIONS[f.__name__] = f
    return f


def row(label: str, value: Any) -> dict:
    if isinstance(value, dict) and "zh" in value:
        shown = value
    else:
        shown = raw_text(str(value))
    return {"label": text_dict(label), "value": shown}


def yuan(cents: int) -> str:
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"


def applicant(s: Session):
    return s.data.get("applicant")


def _now() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")


def _service_title(s: Session) -> dict:
    t = text(s.flow.title)
    return {"zh": t.zh, "en": t.en}


def receipt_for(s: Session, result: str, **more: Any) -> dict:
    """An ESC/POS receipt job for the current case (the layout masks the applicant)."""
    person = applicant(s)
    title = _service_title(s)
    job = {"case_no": s.data.get("case_ref", ""), "service": title["zh"], "service_en": title["en"],
           "hall": s.services.config_get("terminal.hall", ""), "hall_en": s.services.config_get("terminal.hall_en", ""),
           "time": _now(), "result": result,
           "verify_url": s.services.verify_url(s.data.get("case_ref", ""))}
    if person is not None:
        job["applicant"] = mask_name(person.name)
        job["id_number"] = person.id_number
    agent = s.data.get("agent")
    if agent is not None and agent is not person and getattr(agent, "name", None):
        job["agent"] = mask_name(agent.name)   # family agency: who acted for the applicant
    job.update(more)
    return job


# --------------------------------------------------------------- proof of no property

@fn
def property_query(job: Job, s: Session) -> dict:
    person = applicant(s)
    result = s.services.backend("property_query", id_number=person.id_number, name=person.name)
    # when the registry was asked (its as_of is only a date): printed as 查询时间
    return {**result, "queried_at": _now()}


@fn
def property_show(s: Session) -> None:
    r = s.data["property"]
    owns = bool(r.get("owns_property"))
    s.set_result(status="warn" if owns else "ok",
                 headline=text_dict("flows.no_property.owns" if owns else "flows.no_property.none"),
                 rows=[row("flows.label.applicant", mask_name(applicant(s).name)),
                       row("flows.label.id_number", mask_id_number(applicant(s).id_number)),
                       row("flows.label.registry", raw_text(r.get("registry", ""), r.get("registry_en"))),
                       row("flows.label.as_of", r.get("as_of", "")),
                       row("flows.label.query_id", r.get("query_id", ""))])
    if owns:
        s.local["actions"] = ["finish_enquiry"]


@fn
def property_next(s: Session) -> str:
    return "evaluation" if s.data["property"].get("owns_property") else "render"


def _person(s: Session) -> dict:
    p = applicant(s)
    return {"name": p.name, "id_number": p.id_number}


def _render(s: Session, kind: str, data: dict) -> bytes:
    pdf = s.services.render_document(kind, data, lang=s.lang)
    s.data["document_hash"] = hashlib.sha256(pdf).hexdigest()
    # the signed fields (holder masked) go with the case: central answers /v1/verify/<serial> from them
    fields = s.services.document_fields(pdf) or {}
    s.data["certificate"] = {k: fields.get(k) for k in ("type", "serial", "holder", "result", "issued",
                                                         "valid_until")} if fields else None
    return pdf


@fn
def document(s: Session) -> bytes:
    """The certificate rendered before the case was committed (its hash is in the case)."""
    return s.data["document"]


@fn
def property_render(job: Job, s: Session) -> bytes:
    r = s.data["property"]
    return _render(s, "no_property", {"applicant": _person(s), "records": [], "query_time": r.get("queried_at")})


@fn
def property_case(s: Session) -> dict:
    r = s.data["property"]
    return {"applicant": applicant(s), "document_hash": s.data.get("document_hash"),
            "result": {"status": "issued", "owns_property": False, "query_id": r.get("query_id"),
                       "as_of": r.get("as_of"), "certificate": s.data.get("certificate")}}


@fn
def property_receipt(s: Session) -> dict:
    return receipt_for(s, "issued")


# --------------------------------------------------------------- social security proof

MONTH_OPTIONS = (6, 12, 24, 36)


@fn
def ss_month_choices(s: Session) -> list[Choice]:
    return [Choice(f"m{n}", text("flows.social.months", n=n), value=n) for n in MONTH_OPTIONS]


@fn
def ss_records(job: Job, s: Session) -> list:
    return s.services.backend("social_security_records", id_number=applicant(s).id_number, months=int(s.data["months"]))


@fn
def ss_next(s: Session) -> str:
    return "render" if s.data["records"] else "no_records"


@fn
def ss_render(job: Job, s: Session) -> bytes:
    recs = s.data["records"]
    months = [{"month": r["month"], "base": int(r.get("base_cents", 0)) / 100,
               "employer": int(r.get("pension_employer_cents", 0)) / 100,
               "personal": int(r.get("pension_personal_cents", 0)) / 100,
               "status": "已缴" if r.get("status") == "paid" else "欠缴", "paid": r.get("status") == "paid"}
              for r in reversed(recs)]
    return _render(s, "social_security", {"applicant": _person(s), "insured_no": applicant(s).id_number,
                                           "employer": recs[0].get("employer", ""), "months": months})


@fn
def ss_preview(s: Session) -> None:
    recs = s.data["records"]
    paid = [r for r in recs if r.get("status") == "paid"]
    total = sum(int(r.get("pension_personal_cents", 0)) + int(r.get("pension_employer_cents", 0)) for r in paid)
    s.set_result(status="ok", headline=text_dict("flows.social.preview_head"),
                 rows=[row("flows.label.applicant", mask_name(applicant(s).name)),
                       row("flows.label.period", f"{recs[-1]['month']} ~ {recs[0]['month']}"),
                       row("flows.label.months_paid", f"{len(paid)}/{len(recs)}"),
                       row("flows.label.employer", recs[0].get("employer", "")),
                       row("flows.label.pension_total", f"¥{yuan(total)}")],
                 months=[{"month": r["month"], "status": r.get("status"), "base": yuan(r.get("base_cents", 0))}
                         for r in recs])
    s.show_document("preview", s.data["document"])


@fn
def ss_case(s: Session) -> dict:
    recs = s.data["records"]
    return {"applicant": applicant(s), "document_hash": s.data.get("document_hash"),
            "result": {"status": "issued", "months": len(recs),
                       "paid": sum(1 for r in recs if r.get("status") == "paid"),
                       "certificate": s.data.get("certificate")},
            "extra": {"card": s.data.get("applicant_card")}}


# --------------------------------------------------------------- provident fund withdrawal

@fn
def pf_account(job: Job, s: Session) -> dict:
    return s.services.backend("provident_fund_account", id_number=applicant(s).id_number)


@fn
def pf_show(s: Session) -> None:
    a = s.data["fund"]
    rows = [row("flows.label.applicant", mask_name(applicant(s).name)),
            row("flows.label.account", mask_card_number(a.get("account_no", ""))),
            row("flows.label.balance", f"¥{yuan(a['balance_cents'])}"),
            row("flows.label.max_withdrawal", f"¥{yuan(a.get('max_withdrawal_cents', 0))}")]
    for r in a.get("reasons", []):
        rows.append(row("flows.label.reason", raw_text(r.get("zh", ""), r.get("en"))))
    eligible = bool(a.get("eligible"))
    s.set_result(status="ok" if eligible else "warn",
                 headline=text_dict("flows.fund.eligible" if eligible else "flows.fund.not_eligible"), rows=rows)
    if not eligible:
        s.local["actions"] = ["finish_enquiry"]


@fn
def pf_next(s: Session) -> str:
    return "amount" if s.data["fund"].get("eligible") else "evaluation"


@fn
def pf_amount(value: Decimal, s: Session):
    cap = Decimal(int(s.data["fund"].get("max_withdrawal_cents", 0))) / 100
    if value < Decimal("100"):
        return text("flows.fund.amount_min", min="100.00")
    if value > cap:
        return text("flows.fund.amount_max", max=f"{cap:.2f}")
    return None


@fn
def pf_purposes(s: Session) -> list[Choice]:
    return [Choice(p, f"flows.fund.purpose.{p}", value=p) for p in s.data["fund"].get("purposes", ["rent"])]


@fn
def pf_confirm(s: Session) -> None:
    card = s.data["bank_card"]
    s.set_result(status="ok", headline=text_dict("flows.fund.confirm_head"),
                 rows=[row("flows.label.amount", f"¥{s.data['amount']:.2f}"),
                       row("flows.label.purpose", text_dict(f"flows.fund.purpose.{s.data.get('purpose', 'rent')}")),
                       row("flows.label.bank_card", mask_card_number(card.get("pan", ""))),
                       row("flows.label.bank", _scheme(card))])


def _scheme(card: dict) -> Any:
    """The card network as a resident reads it (银联 on a Chinese screen, and spoken so)."""
    scheme = card.get("scheme", "") or card.get("label", "")
    return raw_text("银联", scheme) if scheme == "UnionPay" else scheme


@fn
def pf_case(s: Session) -> dict:
    card = s.data["bank_card"]
    return {"applicant": applicant(s),
            "result": {"status": "accepted", "amount_cents": int(s.data["amount"] * 100),
                       "purpose": s.data.get("purpose", "rent")},
            "extra": {"bank_card": card.get("pan", ""), "account_no": s.data["fund"].get("account_no")}}


@fn
def pf_withdraw(job: Job, s: Session) -> dict:
    """The withdrawal itself, after the case is committed (its reference goes
    with it); keyed by the case, so a retry never pays twice."""
    person = applicant(s)
    return s.services.backend("provident_fund_withdraw", id_number=person.id_number, name=person.name,
                              amount=s.data["amount"], bank_card=s.data["bank_card"].get("pan", ""),
                              case_ref=s.data.get("case_ref", ""), purpose=s.data.get("purpose", "rent"),
                              idempotency_key=f"withdrawal-{s.data.get('case_ref', '')}")


@fn
def pf_receipt(s: Session) -> dict:
    w = s.data.get("withdrawal") or {}
    return receipt_for(s, "accepted", amount=f"{s.data['amount']:.2f}",
                       bank_card=mask_card_number(s.data["bank_card"].get("pan", "")),
                       arrival=str(w.get("expected_arrival") or ""))


# --------------------------------------------------------------- queue ticket

@fn
def queue_choices(s: Session) -> list[Choice]:
    businesses = s.data.get("businesses")
    if businesses is None:
        businesses = s.services.queue_businesses()
        s.data["businesses"] = businesses
    return [Choice(b["code"], raw_text(b["name_zh"], b.get("name_en")),
                   detail=text("flows.queue.counters", counters=b.get("counters", "")), value=b["code"])
            for b in businesses]


@fn
def queue_take(job: Job, s: Session) -> dict:
    code = s.data["business"]
    business = next(b for b in s.data["businesses"] if b["code"] == code)
    return s.services.queue_number(business)


@fn
def queue_show(s: Session) -> None:
    t = s.data["ticket"]
    b = next(b for b in s.data["businesses"] if b["code"] == s.data["business"])
    offline = bool(t.get("offline"))
    s.set_result(ticket=t["number"], waiting=None if offline else t.get("waiting"), offline=offline,
                 counters=str(b.get("counters") or ""))


@fn
def queue_case(s: Session) -> dict:
    t = s.data["ticket"]
    return {"applicant": None, "result": {"status": "issued", "ticket": t["number"], "business": s.data["business"],
                                          "offline": bool(t.get("offline"))}}


@fn
def queue_ticket(s: Session) -> dict:
    t = s.data["ticket"]
    b = next(b for b in s.data["businesses"] if b["code"] == s.data["business"])
    waiting = None if t.get("offline") or t.get("waiting") is None else int(t["waiting"])
    return {"number": t["number"], "waiting": waiting, "counters": str(b.get("counters") or ""),
            "service": b["name_zh"],
            "service_en": b.get("name_en", ""), "hall": s.services.config_get("terminal.hall", ""),
            "hall_en": s.services.config_get("terminal.hall_en", ""), "time": _now(),
            "follow_url": t.get("follow_url", "")}


# --------------------------------------------------------------- traffic violations

@fn
def tv_query(job: Job, s: Session) -> list:
    return s.services.backend("traffic_violations", plate=s.data["plate"])


@fn
def tv_next(s: Session) -> str:
    return "violations" if s.data["violations"] else "no_violations"


@fn
def tv_choices(s: Session) -> list[Choice]:
    out = []
    for v in s.data["violations"]:
        label = raw_text(f"{v['time'][:16].replace('T', ' ')} {v['description']}  ¥{v['fine']}",
                         f"{v['time'][:16].replace('T', ' ')} {v.get('description_en', v['description'])}"
                         f"  ¥{v['fine']}")
        detail = raw_text(f"{v['place']} · 记{v['points']}分", f"{v['place']} · {v['points']} points")
        out.append(Choice(v["violation_id"], label, detail=detail, enabled=bool(v.get("payable")) and not v.get("paid"),
                          reason="flows.traffic.counter_only"))
    return out


@fn
def tv_no_violations(s: Session) -> None:
    s.set_result(status="ok", headline=text_dict("flows.traffic.none"),
                 rows=[row("flows.label.plate", s.data["plate"]),
                       row("flows.label.plate_kind", text_dict(f"flows.plate.kind.{plate_kind(s.data['plate'])}"))])


def _selected_violations(s: Session) -> list[dict]:
    chosen = set(s.data.get("violations_pick") or [])
    return [v for v in s.data["violations"] if v["violation_id"] in chosen]


@fn
def tv_order(s: Session) -> dict:
    picked = _selected_violations(s)
    # The order reference ties the payment to this session; the case (made after
    # payment) records the payment id.
    return {"amount_cents": sum(int(v["fine_cents"]) for v in picked), "case_ref": f"PAY-{s.id}",
            "subject": f"交通违法罚款 {s.data['plate']}", "items": [v["violation_id"] for v in picked]}


@fn
def tv_case(s: Session) -> dict:
    picked = _selected_violations(s)
    return {"applicant": None,
            "result": {"status": "paid", "plate": s.data["plate"], "violations": [v["violation_id"] for v in picked],
                       "amount_cents": sum(int(v["fine_cents"]) for v in picked),
                       "payment_id": s.data["payment"]["payment_id"]}}


@fn
def tv_receipt(s: Session) -> dict:
    picked = _selected_violations(s)
    return receipt_for(s, "paid", plate=s.data["plate"],
                       amount=yuan(sum(int(v["fine_cents"]) for v in picked)))


# --------------------------------------------------------------- restricted-area pass

@fn
def rp_check(s: Session, values: dict) -> dict:
    errors = {}
    today = dt.date.today()
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and start < today:
        errors["start_date"] = text("flows.pass.start_past")
    elif start is not None and start > today + dt.timedelta(days=30):
        errors["start_date"] = text("flows.pass.start_far")
    if start is not None and end is not None and not errors:
        if end < start:
            errors["end_date"] = text("flows.pass.end_before_start")
        elif (end - start).days + 1 > 15:
            errors["end_date"] = text("flows.pass.too_long", days=15)
    return errors


@fn
def rp_show(s: Session) -> None:
    s.set_result(status="ok", headline=text_dict("flows.pass.confirm_head"),
                 rows=[row("flows.label.applicant", mask_name(applicant(s).name)),
                       row("flows.label.plate", s.data["plate"]),
                       row("flows.label.area", text_dict(f"flows.pass.area.{s.data['area']}")),
                       row("flows.label.period", f"{s.data['start_date']} ~ {s.data['end_date']}")])


@fn
def rp_areas(s: Session) -> list[Choice]:
    return [Choice(a, f"flows.pass.area.{a}", value=a) for a in ("inner_ring", "old_town", "port")]


@fn
def rp_case(s: Session) -> dict:
    return {"applicant": applicant(s),
            "result": {"status": "accepted", "plate": s.data["plate"], "area": s.data["area"],
                       "start": s.data["start_date"].isoformat(), "end": s.data["end_date"].isoformat()}}


@fn
def rp_receipt(s: Session) -> dict:
    area = text(f"flows.pass.area.{s.data['area']}")
    return receipt_for(s, "accepted", plate=s.data["plate"], area=area.zh, area_en=area.en,
                       period=f"{s.data['start_date']} ~ {s.data['end_date']}")


# --------------------------------------------------------------- family agency

@fn
def agency_relationships(s: Session) -> list[Choice]:
    return [Choice(r, f"flows.agency.rel.{r}", value=r) for r in ("spouse", "child", "parent", "sibling", "grandchild")]


@fn
def agency_services(s: Session) -> list[Choice]:
    out = []
    for sid, avail in s.services.agency_targets():
        flow = s.services.flow(sid)
        out.append(Choice(sid, flow.title, detail=flow.description, enabled=avail.ok,
                          reason=avail.reasons[0] if avail.reasons else None))
    return out


@fn
def agency_declare(s: Session) -> None:
    agent, principal = s.data["agent"], s.data["applicant"]
    s.set_result(status="ok", headline=text_dict("flows.agency.declare_head"),
                 rows=[row("flows.label.agent", mask_name(agent.name)),
                       row("flows.label.principal", mask_name(principal.name)),
                       row("flows.label.relationship", text_dict(f"flows.agency.rel.{s.data['relationship']}"))])


@fn
def agency_chain(s: Session) -> None:
    target = s.services.flow(s.data["agency_service"])
    s.data["on_behalf"] = True
    # The principal's identity was read here and the agent was verified: the
    # chained flow's own ID and face steps are skipped.
    s.data["applicant_verified"] = dict(s.data.get("agent_verified") or {}, for_agent=True)
    s.data["on_behalf_shown"] = {"agent": mask_name(s.data["agent"].name),
                                 "principal": mask_name(s.data["applicant"].name),
                                 "relationship": text_dict(f"flows.agency.rel.{s.data['relationship']}")}
    s.chain(target, cause="on_behalf")


# --------------------------------------------------------------- standalone evaluation

@fn
def eval_find_case(s: Session, values: dict) -> dict:
    found = s.services.find_case(values["case_ref"].strip().upper())
    if found is None:
        return {"case_ref": text("flows.evaluation.case_unknown")}
    if found.get("evaluated"):
        return {"case_ref": text("flows.evaluation.already_rated")}
    s.data["case_id"] = found["case_id"]
    s.data["case_ref"] = found["ref"]
    return {}
