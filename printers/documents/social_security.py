"""社会保险参保缴费证明 (social security payment proof, monthly table)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from reportlab.lib.units import mm

from kiosk.core.i18n import t
from kiosk.core.masking import mask_id_number

from .common import BODY_TOP, CONTENT_FLOOR, PAGE_FLOOR, finish, next_page, open_sheet, prepare
from .layout import MARGIN, PAGE_H, PAGE_W, Sheet, money
from .signing import Signer

DOC_TYPE = "social_security"
MAX_MONTHS = 60
ROW_H = 16.5
CONT_TOP = PAGE_H - 42 * mm  # first table row on a continuation page


def _amount(value, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} is not an amount: {value!r}") from None


UNPAID = ("欠缴", "unpaid")


def _paid(month: dict) -> bool:
    """``paid`` when given, else read from the status text."""
    paid = month.get("paid")
    return bool(paid) if paid is not None else str(month.get("status", "")).strip() not in UNPAID


def render_social_security_proof(data: dict, signer: Signer, lang: str = "zh") -> bytes:
    """Render a social insurance payment proof with one table row per month.

    ``data``:
      applicant      {"name": str, "id_number": str}  (required)
      insured_no     social security number (printed masked like an ID number; default: the ID)
      employer       paying employer (text)
      insurance      insurance type (default: catalog doc.social.insurance_default)
      months         list (1-60) of {"month": "2025-01", "base": 8000, "employer": 1280,
                     "personal": 640, "status": "已缴", "paid": true}; amounts are numbers or numeric text;
                     unpaid months ("paid": false, or status 欠缴) are listed but not totalled.
                     More than about a dozen continue on further pages (numbered).
      serial, issued_at, valid_days, authority, terminal_id  as for ``render_no_property``
    """
    issue = prepare(DOC_TYPE, data, "SBJF", "doc.social.authority_default", lang)
    months = list(data.get("months") or [])
    if not 1 <= len(months) <= MAX_MONTHS:
        raise ValueError(f"a proof lists 1 to {MAX_MONTHS} months (got {len(months)})")
    table, totals = [], [Decimal(0), Decimal(0), Decimal(0)]
    for m in months:
        base = _amount(m.get("base", 0), "base")
        employer = _amount(m.get("employer", 0), "employer")
        personal = _amount(m.get("personal", 0), "personal")
        if _paid(m):  # an unpaid (欠缴) month is owed, not paid: it is not in the total
            totals[1] += employer
            totals[2] += personal
        table.append([str(m.get("month", "")), money(base), money(employer), money(personal), str(m.get("status", ""))])
    period = f"{table[0][0]} — {table[-1][0]}" + "  " + t("doc.social.months_count", lang, count=len(table))
    rows = [
        (t("doc.common.name", lang), issue.name),
        (t("doc.common.id_number", lang), issue.id_masked),
        # the social security number is usually the ID number: masked the same way
        (t("doc.social.insured_no", lang), mask_id_number(str(data.get("insured_no") or "")) or issue.id_masked),
        (t("doc.social.employer", lang), str(data.get("employer") or "—")),
        (t("doc.social.insurance", lang), str(data.get("insurance") or t("doc.social.insurance_default", lang))),
        (t("doc.social.period", lang), period),
    ]
    title = t("doc.social.title", lang)
    sheet = Sheet(title, lang)  # not drawn on: measures the field table to plan the pages
    label_w = 34 * mm if lang == "zh" else 38 * mm
    chunks = _paginate(len(table), sheet.field_table(BODY_TOP, rows, label_w=label_w, size=10.5, draw=False) - 6 * mm)
    sheet = open_sheet(issue, title, t("doc.social.subtitle", lang), len(chunks))
    y = sheet.field_table(BODY_TOP, rows, label_w=label_w, size=10.5)

    widths = [30 * mm, 38 * mm, 38 * mm, 38 * mm]
    widths.append(PAGE_W - 2 * MARGIN - sum(widths))
    header = [sheet.t(f"doc.social.col_{c}") for c in ("month", "base", "employer", "personal", "status")]
    footer = [sheet.t("doc.social.total"), "", money(totals[1]), money(totals[2]), ""]
    top = y - 6 * mm
    start = 0
    for page, count in enumerate(chunks, 1):
        if page > 1:
            top = next_page(sheet, issue, title, page, len(chunks))
        last = page == len(chunks)
        y = sheet.grid_table(top, header, table[start:start + count], widths,
                             aligns=["center", "right", "right", "right", "center"],
                             size=9.5, row_h=ROW_H, footer=footer if last else None)
        start += count
    content = {
        "insured_no": rows[2][1], "employer": rows[3][1], "insurance": rows[4][1], "period": period,
        "months": table, "total": footer,
    }
    return finish(sheet, issue, signer, content, [sheet.t("doc.social.note1")], y, period)


def _paginate(n_rows: int, first_top: float) -> list[int]:
    """Rows per page: each page holds its header row; the last page also holds
    the total row and must end above the closing block."""
    def fits(top: float, floor: float) -> int:
        return int((top - floor) // ROW_H) - 1  # minus the header row

    chunks: list[int] = []
    left, top = n_rows, first_top
    while True:
        if left + 1 <= fits(top, CONTENT_FLOOR):  # rows + total row
            chunks.append(left)
            return chunks
        # fill this page, but leave at least one row for the last page with the total
        take = max(1, min(fits(top, PAGE_FLOOR), left - 1))
        chunks.append(take)
        left -= take
        top = CONT_TOP
