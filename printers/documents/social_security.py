"""社会保险参保缴费证明 (social security payment proof, monthly table)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from reportlab.lib.units import mm

from kiosk.i18n import t

from kiosk.masking import mask_id_number

from .common import BODY_TOP, CONTENT_FLOOR, finish, open_sheet, prepare
from .layout import MARGIN, PAGE_W, money
from .signing import Signer

DOC_TYPE = "social_security"
MAX_MONTHS = 12  # one page; a longer period is issued as several certificates


def _amount(value, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} is not an amount: {value!r}") from None


def render_social_security_proof(data: dict, signer: Signer, lang: str = "zh") -> bytes:
    """Render a social insurance payment proof with one table row per month.

    ``data``:
      applicant      {"name": str, "id_number": str}  (required)
      insured_no     social security number (printed masked like an ID number; default: the ID)
      employer       paying employer (text)
      insurance      insurance type (default: catalog doc.social.insurance_default)
      months         list (1-12) of {"month": "2025-01", "base": 8000, "employer": 1280,
                     "personal": 640, "status": "已缴"}; amounts are numbers or numeric text
      serial, issued_at, valid_days, authority, terminal_id  as for ``render_no_property``
    """
    issue = prepare(DOC_TYPE, data, "SBJF", "doc.social.authority_default", lang)
    months = list(data.get("months") or [])
    if not 1 <= len(months) <= MAX_MONTHS:
        raise ValueError(f"between 1 and {MAX_MONTHS} months fit on one page (got {len(months)})")
    sheet = open_sheet(issue, t("doc.social.title", lang), t("doc.social.subtitle", lang))

    table, totals = [], [Decimal(0), Decimal(0), Decimal(0)]
    for m in months:
        base = _amount(m.get("base", 0), "base")
        employer = _amount(m.get("employer", 0), "employer")
        personal = _amount(m.get("personal", 0), "personal")
        totals[1] += employer
        totals[2] += personal
        table.append([str(m.get("month", "")), money(base), money(employer), money(personal), str(m.get("status", ""))])
    period = f"{table[0][0]} — {table[-1][0]}" + "  " + sheet.t("doc.social.months_count", count=len(table))

    id_label = sheet.t("doc.common.id_number")
    rows = [
        (sheet.t("doc.common.name"), issue.name),
        (id_label, issue.id_masked),
        # the social security number is usually the ID number: masked the same way
        (sheet.t("doc.social.insured_no"), mask_id_number(str(data.get("insured_no") or "")) or issue.id_masked),
        (sheet.t("doc.social.employer"), str(data.get("employer") or "—")),
        (sheet.t("doc.social.insurance"), str(data.get("insurance") or sheet.t("doc.social.insurance_default"))),
        (sheet.t("doc.social.period"), period),
    ]
    y = sheet.field_table(BODY_TOP, rows, label_w=34 * mm if lang == "zh" else 38 * mm, size=10.5)

    widths = [30 * mm, 38 * mm, 38 * mm, 38 * mm]
    widths.append(PAGE_W - 2 * MARGIN - sum(widths))
    footer = [sheet.t("doc.social.total"), "", money(totals[1]), money(totals[2]), ""]
    y = sheet.grid_table(y - 6 * mm, [sheet.t(f"doc.social.col_{c}") for c in
                                      ("month", "base", "employer", "personal", "status")],
                         table, widths, aligns=["center", "right", "right", "right", "center"],
                         size=9.5, row_h=16.5, footer=footer)
    if y < CONTENT_FLOOR:
        raise ValueError(f"content does not fit on one page ({y:.0f} < {CONTENT_FLOOR:.0f})")
    content = {
        "insured_no": rows[2][1], "employer": rows[3][1], "insurance": rows[4][1], "period": period,
        "months": table, "total": footer,
    }
    return finish(sheet, issue, signer, content, [sheet.t("doc.social.note1")], y)
