"""Certificates of the data-driven services, from a layout template.

A template (``templates/NAME.toml``) names the texts and the issuing body::

    doc_type = "hukou"                 # carried in the signed QR payload
    serial_prefix = "HJZM"
    title = "doc.hall.hukou.title"      # catalog keys
    subtitle = "doc.hall.hukou.subtitle"
    authority = "doc.hall.hukou.authority"
    result = "doc.hall.hukou.result"    # the short outcome the QR code carries
    notes = ["doc.hall.note_verify", "doc.hall.hukou.note"]
    columns = ["doc.hall.col.month", ...]   # optional: a table of the data's items

The data carries what the service found: ``rows`` (``[{"label": key,
"value": text}]``, printed under the holder's name and masked ID number) and
``items`` (lists of cell texts for the table).  Signed like every certificate.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

from reportlab.lib.units import mm

from kiosk.core.i18n import t

from .common import BODY_TOP, CONTENT_FLOOR, applicant_rows, finish, open_sheet, prepare
from .layout import MARGIN, PAGE_W
from .signing import Signer

MAX_ITEMS = 14
_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


class TemplateError(ValueError):
    pass


@functools.cache
def template(name: str) -> dict:
    if not _NAME.match(name or ""):
        raise TemplateError(f"bad template name {name!r}")
    try:
        raw = (resources.files("printers.documents") / "templates" / f"{name}.toml").read_text("utf-8")
    except FileNotFoundError:
        raise TemplateError(f"no certificate template named {name!r}") from None
    spec = tomllib.loads(raw)
    missing = [k for k in ("doc_type", "serial_prefix", "title", "authority", "result") if k not in spec]
    if missing:
        raise TemplateError(f"template {name}: missing {', '.join(missing)}")
    return spec


def templates() -> list[str]:
    folder = resources.files("printers.documents") / "templates"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def render_hall(data: dict, signer: Signer, lang: str = "zh") -> bytes:
    """``data``: ``template``, ``applicant`` {name, id_number}, ``rows``, ``items``; the issue fields as
    every certificate (serial, issued_at, valid_days, terminal_id, verify_base)."""
    spec = template(str(data.get("template", "")))
    issue = prepare(spec["doc_type"], data, spec["serial_prefix"], spec["authority"], lang)
    sheet = open_sheet(issue, t(spec["title"], lang), t(spec["subtitle"], lang) if spec.get("subtitle") else "")
    result = sheet.t(spec["result"])
    rows = applicant_rows(sheet, issue)
    for r in data.get("rows") or []:
        rows.append((sheet.t(r["label"]), _shown(r["value"], lang)))
    rows.append((sheet.t("doc.hall.result"), result))
    y = sheet.field_table(BODY_TOP, rows, label_w=34 * mm if lang == "zh" else 40 * mm, strong=[len(rows) - 1])
    content = {"rows": [[label, value] for label, value in rows], "result": result}
    items = [[_shown(c, lang) for c in item] for item in (data.get("items") or [])][:MAX_ITEMS]
    if items and spec.get("columns"):
        cols = spec["columns"]
        width = (PAGE_W - 2 * MARGIN) / len(cols)
        y = sheet.grid_table(y - 6 * mm, [sheet.t(c) for c in cols], items, [width] * len(cols),
                             aligns=["center"] * len(cols), size=9)
        content["items"] = items
    if y < CONTENT_FLOOR:
        raise ValueError("content does not fit on one page")
    notes = [sheet.t(k) for k in spec.get("notes", [])]
    return finish(sheet, issue, signer, content, notes, y, result)


def _shown(value, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh") or "")
    return str(value)


__all__ = ["TemplateError", "render_hall", "template", "templates"]
