"""Data-driven steps: a new service is YAML, strings, a layout and a back-end
data set, with no Python of its own.

Values are named by paths into the session's data: ``applicant.name``,
``lookup.record.points``, ``slot.time`` (the first part is a data key, the
rest dict keys or attributes).  A *row* is ``{label: KEY, value: PATH}`` with
an optional ``format`` (``yuan``: cents as ¥0.00, ``points``, ``text``: a
catalog key, ``name``/``id_number``/``phone``/``address``: masked), or ``{label: KEY, text: KEY}`` for a catalog text.

| use | what |
| --- | --- |
| ``query`` | ask the back-end data set ``dataset`` with ``send: {field: PATH}``; ``missing:`` step if no record |
| ``show`` | a result (or ``view: preview``) screen: ``headline``, ``rows``, ``list`` (``from``, ``label``, ``value``) |
| ``pick`` | choose one item of a list in the data (``from``, ``key``, ``label``, ``detail``, ``enabled``) |
| ``apply`` | submit an application or booking to ``dataset`` (``send``); the answer is stored |
| ``pay`` | pay ``amount`` (PATH to cents) by QR code |
| ``record`` | commit the case: ``status`` and ``keep: {name: PATH}`` |
| ``certificate`` | render the signed A4 certificate of ``template`` with ``rows`` and ``items`` |
| ``receipt`` | print a receipt with ``layout`` (default ``hall_receipt``), ``rows`` and ``booking`` |
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

from kiosk.core.i18n import text
from kiosk.core.masking import mask_address, mask_id_number, mask_name, mask_phone

from ..engine import Choice, FlowError, Job, Session, Step, raw_text, text_dict
from .basic import CommitStep, ResultStep, WorkStep, commit_case
from .payment import PaymentStep
from .printing import PrintStep

MASKS = {"name": mask_name, "id_number": mask_id_number, "phone": mask_phone, "address": mask_address}
FORMATS = ("yuan", "text", "points", *MASKS)


def lookup(s: Session, path: str) -> Any:
    """The value at ``path``; ``=text`` is the text itself (a fixed value sent to a back-end)."""
    if str(path).startswith("="):
        return str(path)[1:]
    head, *rest = str(path).split(".")
    cur: Any = s.data.get(head)
    for part in rest:
        if cur is None:
            return None
        cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
    return cur


def shown(value: Any, fmt: str | None = None) -> dict:
    """A value as display text {key, zh, en}: back-end texts may come in both languages."""
    if isinstance(value, dict) and "zh" in value:
        return raw_text(str(value["zh"]), str(value.get("en") or value["zh"]))
    if value is None:
        return raw_text("—")
    if fmt == "yuan":
        cents = int(value)
        return raw_text(f"¥{cents // 100}.{cents % 100:02d}")
    if fmt in MASKS:
        return raw_text(MASKS[fmt](str(value)))
    if fmt == "points":
        return raw_text(f"{value}分", f"{value} points")
    if fmt == "text":
        return text_dict(str(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return raw_text(value.isoformat())
    return raw_text(str(value))


def rows_of(s: Session, specs: list) -> list[dict]:
    out = []
    for spec in specs or []:
        if "text" in spec:
            value = text_dict(spec["text"])
        else:
            value = shown(lookup(s, spec["value"]), spec.get("format"))
        if value["zh"] == "—" and spec.get("optional"):
            continue
        out.append({"label": text_dict(spec["label"]), "value": value})
    return out


def list_rows(s: Session, spec: dict | None) -> list[dict]:
    """``list: {from: PATH, label: [fields], value: field, format}``: one row per item."""
    if not spec:
        return []
    out = []
    for item in lookup(s, spec["from"]) or []:
        fields = _as_list(spec.get("label"))
        label = raw_text(" ".join(_plain(item.get(f)) for f in fields),
                         " ".join(_plain(item.get(f), "en") for f in fields))
        out.append({"label": label, "value": shown(item.get(spec.get("value")), spec.get("format"))})
    return out


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] if value else []


def _send(s: Session, mapping: dict | None) -> dict:
    out = {}
    for field, path in (mapping or {}).items():
        value = lookup(s, path)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        if value is not None:
            out[field] = value if isinstance(value, (int, float, bool)) else str(value)
    return out


def _require(step: Step, *keys: str) -> None:
    missing = [k for k in keys if not step.options.get(k)]
    if missing:
        raise FlowError(f"step {step.id}: needs {', '.join(missing)}")


class QueryStep(WorkStep):
    """Ask a back-end data set; no record goes to ``missing`` (an explanation screen)."""

    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        _require(self, "dataset")
        self.options["run"] = self._run

    def _run(self, job: Job, s: Session) -> dict:
        return s.services.backend("hall_query", dataset=self.options["dataset"],
                                  params=_send(s, self.options.get("send")))

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.data[self.store] = result
        if not result.get("found", True) and self.options.get("missing"):
            s.journal_note("no_record", dataset=self.options["dataset"])
            s.go(self.options["missing"], cause="no_record")
            return
        s.go(self.next_step(s), cause=f"done:{job.name}")


class ApplyStep(WorkStep):
    """Submit an application or booking; the key is the session's, so a retry is the same application."""

    defaults: ClassVar[dict] = {"can_cancel": False}

    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        _require(self, "dataset")
        self.options["run"] = self._run

    def _run(self, job: Job, s: Session) -> dict:
        # one key per session, service and step: a bundle's members never share one
        key = s.data.setdefault(f"apply_key:{self.id}", f"{s.id}-{s.flow.id}-{self.id}")
        return s.services.backend("hall_apply", dataset=self.options["dataset"],
                                  params=_send(s, self.options.get("send")), key=key)


class ShowStep(ResultStep):
    """What was found, as rows (and a list); ``enquiry: true`` ends with "finish" (no case)."""

    def enter(self, s: Session) -> None:
        Step.enter(self, s)
        status = self.options.get("status", "ok")
        if self.options.get("warn_when") and lookup(s, self.options["warn_when"]):
            status = "warn"
        s.set_result(status=status, headline=text_dict(self.options.get("headline", "hall.show.headline")),
                     rows=rows_of(s, self.options.get("rows")) + list_rows(s, self.options.get("list")))
        if self.options.get("enquiry"):
            s.local["actions"] = ["finish_enquiry"]
        if self.view == "preview" and s.data.get("document"):
            s.show_document("preview", s.data["document"])
        elif self.view == "preview":   # nothing to preview: the rows are what the resident checks
            s.local["view"] = "result"


class PickStep(Step):
    """Choose one item of a list the back-end gave (a time slot, a permit)."""

    view = "choose"

    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        _require(self, "from", "key", "label")

    def get_choices(self, s: Session) -> list[Choice]:
        o = self.options
        out = []
        for item in lookup(s, o["from"]) or []:
            label = " ".join(_plain(item.get(f)) for f in _as_list(o["label"]))
            detail = " ".join(_plain(item.get(f)) for f in _as_list(o.get("detail"))) or None
            enabled = bool(item.get(o["enabled"])) if o.get("enabled") else True
            out.append(Choice(str(item.get(o["key"])), raw_text(label), detail=raw_text(detail) if detail else None,
                              enabled=enabled, value=item, reason=o.get("reason", "flows.choice.unavailable")))
        return out


def _plain(value: Any, lang: str = "zh") -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh", ""))
    return "" if value is None else str(value)


class PayStep(PaymentStep):
    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        _require(self, "amount")
        self.options["order"] = self._order

    def _order(self, s: Session) -> dict:
        subject = text(self.options.get("subject", s.flow.title))
        return {"amount_cents": int(lookup(s, self.options["amount"])), "case_ref": f"PAY-{s.id}",
                "subject": subject.zh, "items": []}


class RecordStep(CommitStep):
    """Commit the case with ``status`` and the values named in ``keep``."""

    def __init__(self, id: str, **kw: Any):
        super().__init__(id, **kw)
        self.options["case"] = self._case

    def _case(self, s: Session) -> dict:
        status = lookup(s, self.options["status_from"]) if self.options.get("status_from") else None
        result = {"status": status or self.options.get("status", "accepted")}
        for name, path in (self.options.get("keep") or {}).items():
            value = lookup(s, path)
            result[name] = value.get("zh") if isinstance(value, dict) and "zh" in value else value
        if s.data.get("payment"):
            result["payment_id"] = s.data["payment"].get("payment_id")
        if s.data.get("certificate"):
            result["certificate"] = s.data["certificate"]
        return {"applicant": s.data.get("applicant"), "result": result, "document_hash": s.data.get("document_hash")}


class CertificateStep(WorkStep):
    """Render the signed certificate (stored as ``document``; print it with ``use: print``)."""

    defaults: ClassVar[dict] = {"title": "flows.render.title"}

    def __init__(self, id: str, **kw: Any):
        kw.setdefault("store", "document")
        super().__init__(id, **kw)
        _require(self, "template")
        self.options["run"] = self._run

    def _run(self, job: Job, s: Session) -> bytes:
        person = s.data["applicant"]
        rows = [{"label": r["label"]["key"], "value": {"zh": r["value"]["zh"], "en": r["value"]["en"]}}
                for r in rows_of(s, self.options.get("rows"))]
        items = [[_plain(item.get(c)) if not isinstance(item.get(c), int) else _cell(item.get(c), c)
                  for c in self.options.get("columns", [])] for item in lookup(s, self.options.get("items", "")) or []]
        pdf = s.services.render_document("hall", {"template": self.options["template"], "rows": rows, "items": items,
                                                  "applicant": {"name": person.name, "id_number": person.id_number}},
                                         lang=s.lang)
        s.data["document_hash"] = hashlib.sha256(pdf).hexdigest()
        fields = s.services.document_fields(pdf) or {}
        s.data["certificate"] = {k: fields.get(k) for k in ("type", "serial", "holder", "result", "issued",
                                                             "valid_until")} if fields else None
        return pdf


def _cell(value: int, column: str) -> str:
    return f"{value // 100}.{value % 100:02d}" if column.endswith("_cents") else str(value)


class ReceiptStep(PrintStep):
    """A receipt (or appointment slip) with the service's rows."""

    def __init__(self, id: str, **kw: Any):
        opts = kw.setdefault("options", {})
        opts.setdefault("kind", "receipt")
        opts.setdefault("alt_family", "a4")
        opts.setdefault("optional", True)
        super().__init__(id, **kw)
        self.options["build"] = self._build

    def _build(self, s: Session) -> dict:
        title = text(s.flow.title)
        job = {"case_no": s.data.get("case_ref", ""), "service": title.zh, "service_en": title.en,
               "hall": s.services.config_get("terminal.hall", ""),
               "hall_en": s.services.config_get("terminal.hall_en", ""),
               "time": dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
               "result": (lookup(s, self.options["result_from"]) if self.options.get("result_from") else None)
               or self.options.get("result", "accepted"), "layout": self.options.get("layout", "hall_receipt"),
               "verify_url": s.services.verify_url(s.data.get("case_ref", "")),
               "lines": [_line(r) for r in rows_of(s, self.options.get("rows"))
                         + list_rows(s, self.options.get("list"))]}
        if self.options.get("booking"):
            job["booking"] = str(lookup(s, self.options["booking"]) or "")
        person = s.data.get("applicant")
        if person is not None:
            job["applicant"] = mask_name(person.name)
            job["id_number"] = person.id_number
        return job


def _line(row: dict) -> dict:
    value = {"zh": row["value"]["zh"], "en": row["value"]["en"]}
    if row["label"].get("key"):
        return {"label": row["label"]["key"], "value": value}
    return {"text": row["label"]["zh"], "value": value}


STEPS = {"query": QueryStep, "apply": ApplyStep, "show": ShowStep, "pick": PickStep, "pay": PayStep,
         "record": RecordStep, "certificate": CertificateStep, "receipt": ReceiptStep}

__all__ = ["STEPS", "commit_case", "lookup", "rows_of", "shown"]
