"""Step functions of the service guide (办事指南): a searchable list, one
service's guide read aloud, a printed guide slip."""

from __future__ import annotations

from kiosk.core.i18n import text

from ..engine import Choice, Session, raw_text
from ..guide import FIELDS
from .doors_functions import slip_base
from .functions import fn


def _initials(zh: str) -> str:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:   # search by characters and English only
        return ""
    return "".join(lazy_pinyin(zh, style=Style.FIRST_LETTER))


def matches(entry: dict, keywords: list, query: str) -> bool:
    q = query.strip().lower()
    if not q:
        return True
    title = entry["title"]
    hay = [title["zh"], title["en"].lower(), _initials(title["zh"]), entry["what"]["zh"], entry["what"]["en"].lower(),
           *[str(k).lower() for k in keywords]]
    return any(q in h for h in hay)


def _guide(s: Session) -> dict:
    guide = s.data.get("guide")
    if guide is None:
        guide = s.data["guide"] = s.services.backend("guide")
    return guide


def _keywords(s: Session, sid: str) -> list:
    try:
        return list(s.services.flow(sid).options.get("keywords", []))
    except (KeyError, AttributeError):
        return []


@fn
def guide_list_show(s: Session) -> None:
    if s.data.get("query"):
        s.set_message(text("doors.guide.searched", query=s.data["query"]))


@fn
def guide_choices(s: Session) -> list[Choice]:
    query = s.data.get("query") or ""
    return [Choice(sid, raw_text(e["title"]["zh"], e["title"]["en"]), detail=raw_text(e["what"]["zh"], e["what"]["en"]))
            for sid, e in _guide(s)["entries"].items() if matches(e, _keywords(s, sid), query)]


def _lines(entry: dict, lang: str) -> list[str]:
    return [f"{text(f'doors.guide.field.{f}').render(lang)}: {entry[f][lang]}" for f in FIELDS]


@fn
def guide_detail(s: Session) -> None:
    entry = _guide(s)["entries"][s.data["guide_service"]]
    rows = [{"label": text(f"doors.guide.field.{f}").as_dict(), "value": raw_text(entry[f]["zh"], entry[f]["en"])}
            for f in FIELDS]
    # shown once, as the table; the voice reads the table's rows aloud
    s.set_result(status="ok", headline=raw_text(entry["title"]["zh"], entry["title"]["en"]), rows=rows)


@fn
def guide_slip(s: Session) -> dict:
    sid = s.data["guide_service"]
    entry = _guide(s)["entries"][sid]
    slip = slip_base(s, "doors.guide.slip_title")
    slip.update(title=f"{entry['title']['zh']}", title_en=entry["title"]["en"],
                body=_lines(entry, "zh") + [""] + _lines(entry, "en"),
                qr="", job_id=f"guide-{sid}-{s.id}")
    return slip
