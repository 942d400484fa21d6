"""不动产登记信息查询结果 (proof of no property)."""

from __future__ import annotations

from reportlab.lib.units import mm

from kiosk.core.i18n import t

from .common import BODY_TOP, CONTENT_FLOOR, applicant_rows, finish, open_sheet, prepare
from .layout import MARGIN, PAGE_W, as_datetime, datetime_text
from .signing import Signer

DOC_TYPE = "no_property"
MAX_RECORDS = 6


def render_no_property(data: dict, signer: Signer, lang: str = "zh") -> bytes:
    """Render the real-estate query result; no records makes it a proof of no property.

    ``data``:
      applicant     {"name": str, "id_number": str}  (required; the ID is printed masked)
      records       list of {"location", "certificate_no", "area", "registered"}; empty/absent = no property
      query_time    datetime or ISO text of the registry query (default: now)
      scope         text (default: the whole city's registers)
      purpose       text, optional (e.g. "办理住房公积金提取")
      serial        certificate number (default: generated "BDC" + time + 4 digits)
      issued_at     datetime or ISO text (default: now)
      valid_days    int, default 30
      authority     issuing authority (default: catalog doc.no_property.authority_default)
      terminal_id   kiosk id printed in the header (default "T-0001")
    """
    issue = prepare(DOC_TYPE, data, "BDC", "doc.no_property.authority_default", lang)
    records = list(data.get("records") or [])
    if len(records) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records fit on one page")
    query_time = datetime_text(as_datetime(data.get("query_time"), issue.issued), lang)
    sheet = open_sheet(issue, t("doc.no_property.title", lang),
                       t("doc.no_property.subtitle_found" if records else "doc.no_property.subtitle", lang))
    scope = str(data.get("scope") or sheet.t("doc.no_property.scope_default"))
    result = (sheet.t("doc.no_property.result_found", count=len(records)) if records
              else sheet.t("doc.no_property.result_none"))

    rows = applicant_rows(sheet, issue, "doc.no_property.holder")
    rows += [(sheet.t("doc.no_property.scope"), scope), (sheet.t("doc.no_property.query_time"), query_time)]
    if data.get("purpose"):
        rows.append((sheet.t("doc.no_property.purpose"), str(data["purpose"])))
    rows.append((sheet.t("doc.no_property.result"), result))
    label_w = 34 * mm if lang == "zh" else 36 * mm
    y = sheet.field_table(BODY_TOP, rows, label_w=label_w, strong=[len(rows) - 1])

    content = {"scope": scope, "query_time": query_time, "result": result}
    if data.get("purpose"):
        content["purpose"] = str(data["purpose"])
    if records:
        table = [[str(r.get("location", "")), str(r.get("certificate_no", "")), str(r.get("area", "")),
                  str(r.get("registered", ""))] for r in records]
        widths = [70 * mm, 50 * mm, 25 * mm]
        widths.append(PAGE_W - 2 * MARGIN - sum(widths))
        y = sheet.grid_table(y - 6 * mm, [sheet.t(f"doc.no_property.col_{c}") for c in
                                          ("location", "certificate", "area", "date")],
                             table, widths, aligns=["left", "center", "right", "center"], size=9)
        content["records"] = table
    if y < CONTENT_FLOOR:
        raise ValueError("content does not fit on one page")
    notes = [sheet.t("doc.no_property.note1"), sheet.t("doc.no_property.note2")]
    return finish(sheet, issue, signer, content, notes, y, result)


__all__ = ["render_no_property"]
