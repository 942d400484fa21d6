"""Printer test page: alignment marks, ruler, gray scale, line widths, font samples, QR."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm

from kiosk.core.i18n import t

from .fonts import FONT, FONT_MONO
from .layout import MARGIN, PAGE_H, PAGE_W, Sheet, as_datetime, datetime_text


def render_test_page(info: dict | None = None, lang: str = "zh") -> bytes:
    """A one-page test print for technicians.

    ``info`` (optional): ``terminal_id``, ``printer`` (name or URL), ``printed_at``.
    Corner marks sit exactly 10 mm from each paper edge: a printer that crops
    or shifts the page shows it at once.
    """
    info = info or {}
    when = as_datetime(info.get("printed_at"))
    terminal = str(info.get("terminal_id") or "T-0001")
    sheet = Sheet(t("doc.test.title", lang), lang)
    c = sheet.c
    _corner_marks(sheet)

    top = PAGE_H - 26 * mm
    sheet.text(PAGE_W / 2, top, sheet.t("doc.test.title"), 22, align="center", bold=True,
               spacing=3 if lang == "zh" else 0)
    sheet.text(PAGE_W / 2, top - 9 * mm, sheet.t("doc.test.info", terminal=terminal, time=datetime_text(when, lang)),
               10, align="center")
    if info.get("printer"):
        sheet.text(PAGE_W / 2, top - 15 * mm, str(info["printer"]), 9, font=FONT_MONO, align="center")
    sheet.rule(top - 19 * mm, double=True)

    # ruler: 170 mm with 1 mm ticks
    y = top - 33 * mm
    sheet.text(MARGIN, y + 5 * mm, sheet.t("doc.test.ruler"), 10)
    c.saveState()
    c.setLineWidth(0.3)
    c.line(MARGIN, y, MARGIN + 170 * mm, y)
    for i in range(171):
        h = 4 * mm if i % 10 == 0 else (2.6 * mm if i % 5 == 0 else 1.5 * mm)
        c.line(MARGIN + i * mm, y, MARGIN + i * mm, y - h)
        if i % 10 == 0:
            c.setFont(FONT_MONO, 6.5)
            c.drawCentredString(MARGIN + i * mm, y - 7 * mm, str(i))
    c.restoreState()

    # gray scale
    y -= 20 * mm
    sheet.text(MARGIN, y + 2 * mm, sheet.t("doc.test.gray"), 10)
    for i in range(11):
        c.setFillColor(colors.Color(1 - i / 10, 1 - i / 10, 1 - i / 10))
        c.rect(MARGIN + i * 15.4 * mm, y - 14 * mm, 15.4 * mm, 12 * mm, stroke=1, fill=1)
        c.setFillColor(colors.black if i < 6 else colors.white)
        c.setFont(FONT_MONO, 7)
        c.drawCentredString(MARGIN + i * 15.4 * mm + 7.7 * mm, y - 9 * mm, f"{i * 10}%")
    c.setFillColor(colors.black)

    # line widths
    y -= 24 * mm
    sheet.text(MARGIN, y, sheet.t("doc.test.lines"), 10)
    for i, w in enumerate((0.1, 0.25, 0.5, 1.0, 2.0)):
        c.setLineWidth(w)
        c.line(MARGIN + 30 * mm, y - i * 4 * mm + 1.2 * mm, MARGIN + 150 * mm, y - i * 4 * mm + 1.2 * mm)
        sheet.text(MARGIN + 155 * mm, y - i * 4 * mm, f"{w:g} pt", 7.5, font=FONT_MONO)

    # font samples below the centre cross, which stands alone in the middle band
    y = PAGE_H / 2 - 16 * mm
    sheet.text(MARGIN, y, sheet.t("doc.test.fonts"), 10)
    y -= 8 * mm
    sample = t("doc.test.sample", "zh")
    latin = t("doc.test.sample", "en")
    for size in (8, 10, 12, 16, 22):
        sheet.text(MARGIN, y, f"{size:>2}pt", 7.5, font=FONT_MONO)
        sheet.text(MARGIN + 12 * mm, y, sample if size < 22 else sample[:14], size)
        y -= size * 1.55
    sheet.text(MARGIN + 12 * mm, y, latin, 10)
    y -= 14
    sheet.text(MARGIN + 12 * mm, y, "0123456789 ¥ ￥ ，。、；：？！「」（）【】 —— …… ㎡", 10, font=FONT_MONO)

    # QR with what the page is, and the centre cross
    qr_size = 32 * mm
    sheet.qr(PAGE_W - MARGIN - qr_size, 30 * mm, qr_size, f"KIOSK-TEST-PAGE {terminal} {when.isoformat()}")
    sheet.text(PAGE_W - MARGIN - qr_size / 2, 25 * mm, sheet.t("doc.test.qr"), 8.5, align="center")
    _cross(sheet, PAGE_W / 2, PAGE_H / 2)
    sheet.paragraph(MARGIN, 50 * mm, 100 * mm, sheet.t("doc.test.alignment"), size=9, leading=14)
    return sheet.finish()


def _corner_marks(sheet: Sheet) -> None:
    c = sheet.c
    c.saveState()
    c.setLineWidth(0.5)
    d, L = 10 * mm, 8 * mm
    for x, sx in ((d, 1), (PAGE_W - d, -1)):
        for y, sy in ((d, 1), (PAGE_H - d, -1)):
            c.line(x, y, x + sx * L, y)
            c.line(x, y, x, y + sy * L)
    c.restoreState()


def _cross(sheet: Sheet, x: float, y: float) -> None:
    c = sheet.c
    c.saveState()
    c.setLineWidth(0.4)
    c.line(x - 6 * mm, y, x + 6 * mm, y)
    c.line(x, y - 6 * mm, x, y + 6 * mm)
    c.circle(x, y, 3 * mm)
    c.restoreState()


__all__ = ["render_test_page", "FONT"]
