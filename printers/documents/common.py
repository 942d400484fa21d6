"""What every certificate shares: issue data, signing, header and the closing block."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reportlab.lib.units import mm

from kiosk.core.i18n import t
from kiosk.core.masking import mask_id_number, mask_name

from .fonts import FONT_MONO
from .layout import MARGIN, PAGE_H, PAGE_W, Sheet, as_datetime, date_text, escape, make_serial
from .signing import PDF_CONTENT_KEY, PDF_PAYLOAD_KEY, Signer, canonical_content

CONTENT_FLOOR = 92 * mm  # the last page's content ends above this: notes and the closing block follow
PAGE_FLOOR = 24 * mm     # other pages' content ends above this


@dataclass
class Issue:
    doc_type: str
    serial: str
    issued: dt.datetime
    valid_until: dt.datetime
    authority: str
    terminal: str
    name: str
    id_masked: str
    lang: str
    verify_base: str = ""

    @property
    def applicant_masked(self) -> str:
        return f"{mask_name(self.name)} {self.id_masked}"

    def common_content(self) -> dict:
        """The issue fields every certificate prints (and signs)."""
        return {
            "serial": self.serial,
            "name": self.name,
            "id_number": self.id_masked,
            "authority": self.authority,
            "issued": date_text(self.issued, self.lang),
            "valid_until": date_text(self.valid_until, self.lang),
        }


def prepare(doc_type: str, data: dict, serial_prefix: str, authority_key: str, lang: str) -> Issue:
    applicant = data.get("applicant") or {}
    name = str(applicant.get("name") or "").strip()
    id_number = str(applicant.get("id_number") or "").strip()
    if not name or not id_number:
        raise ValueError("applicant name and id_number are required")
    issued = as_datetime(data.get("issued_at"))
    return Issue(
        doc_type=doc_type,
        serial=str(data.get("serial") or make_serial(serial_prefix, issued)),
        issued=issued,
        # valid through the whole day printed after "有效期至"
        valid_until=dt.datetime.combine((issued + dt.timedelta(days=int(data.get("valid_days", 30)))).date(),
                                        dt.time(23, 59, 59)),
        authority=str(data.get("authority") or t(authority_key, lang)),
        terminal=str(data.get("terminal_id") or "T-0001"),
        name=name,
        # The ID number is printed masked: the certificate only needs to tie to the person.
        id_masked=mask_id_number(id_number),
        lang=lang,
        verify_base=str(data.get("verify_base") or "").rstrip("/"),
    )


def open_sheet(issue: Issue, title: str, subtitle: str, pages: int = 1) -> Sheet:
    sheet = Sheet(title, issue.lang)
    _page_decor(sheet, issue, 1, pages)
    top = PAGE_H - 22 * mm
    title_size = 22 if issue.lang == "zh" else 18
    spacing = 3 if issue.lang == "zh" else 0
    sheet.text(PAGE_W / 2, top - 20 * mm, title, title_size, align="center", bold=True, spacing=spacing)
    if subtitle:
        sheet.text(PAGE_W / 2, top - 29 * mm, subtitle, 13, align="center")
    sheet.rule(top - 34 * mm, double=True)
    return sheet


def next_page(sheet: Sheet, issue: Issue, title: str, page: int, pages: int) -> float:
    """A continuation page: the same frame and header line, the title small; returns the first free y."""
    sheet.c.showPage()
    _page_decor(sheet, issue, page, pages)
    top = PAGE_H - 22 * mm
    sheet.text(PAGE_W / 2, top - 10 * mm, title, 13, align="center", bold=True)
    sheet.rule(top - 14 * mm)
    return top - 20 * mm


def _page_decor(sheet: Sheet, issue: Issue, page: int, pages: int) -> None:
    sheet.background_mark()
    sheet.frame()
    top = PAGE_H - 22 * mm
    sheet.text(MARGIN, top, sheet.t("doc.common.terminal", terminal=issue.terminal), 9)
    if pages > 1:
        sheet.text(PAGE_W / 2, top, sheet.t("doc.common.page", page=page, pages=pages), 9, align="center")
    sheet.text(PAGE_W - MARGIN, top, sheet.t("doc.common.serial", serial=issue.serial), 9, font=FONT_MONO,
               align="right")


BODY_TOP = PAGE_H - 22 * mm - 42 * mm  # first y below the header


def finish(sheet: Sheet, issue: Issue, signer: Signer, content: dict, notes: list[str], y: float,
           result: str) -> bytes:
    """Notes below ``y``, then QR, authority, seal and validity line; embed the verification
    record and sign the whole file.  ``result``: the short outcome the QR code carries."""
    full = {**issue.common_content(), **content}
    payload = signer.sign_payload(issue.doc_type, issue.serial, issue.applicant_masked, result, issue.issued,
                                  issue.valid_until, full)
    # On paper the code opens the public verify page; the payload after '#' is never sent to it.
    qr_text = f"{issue.verify_base}/v1/verify/{issue.serial}#{payload}" if issue.verify_base else payload
    y -= 9 * mm
    if notes:
        sheet.text(MARGIN, y, sheet.t("doc.common.notes"), 9.5)
        y = sheet.paragraph(MARGIN + 12 * mm if issue.lang == "zh" else MARGIN + 14 * mm, y + 9,
                            PAGE_W - 2 * MARGIN - 14 * mm,
                            "<br/>".join(escape(n) for n in notes), size=9, leading=14)

    qr_size = 34 * mm
    qr_y = 34 * mm
    sheet.qr(MARGIN + 2 * mm, qr_y, qr_size, qr_text)
    sheet.text(MARGIN + 2 * mm + qr_size / 2, qr_y - 5 * mm, sheet.t("doc.common.verify_hint"), 8.5, align="center")

    right = PAGE_W - MARGIN - 14 * mm
    seal_cx = right - max(sheet.width(issue.authority, 12.5), 40 * mm) / 2
    # the seal first, so the authority and the issue date print over it and
    # stay readable (the star would hide a character of the date)
    sheet.seal(seal_cx, qr_y + 17 * mm, issue.authority, sheet.t("doc.common.seal_text"))
    sheet.text(right, qr_y + 20 * mm, issue.authority, 12.5, align="right")
    sheet.text(right, qr_y + 12 * mm, sheet.t("doc.common.issued_on", date=date_text(issue.issued, issue.lang)), 11,
               align="right")

    sheet.rule(27 * mm, width=0.4)
    sheet.text(PAGE_W / 2, 21.5 * mm, sheet.t("doc.common.valid_note", date=date_text(issue.valid_until, issue.lang)),
               10.5, align="center", bold=True)
    sheet.paragraph(MARGIN, 19.5 * mm, PAGE_W - 2 * MARGIN, escape(sheet.t("doc.common.printed_by")), size=7.5,
                    leading=10, align=1)
    return signer.sign_pdf(sheet.finish(), {PDF_PAYLOAD_KEY: payload, PDF_CONTENT_KEY: canonical_content(full)})


def applicant_rows(sheet: Sheet, issue: Issue, name_label_key: str = "doc.common.name") -> list[tuple[str, str]]:
    return [
        (sheet.t(name_label_key), issue.name),
        (sheet.t("doc.common.id_type"), sheet.t("doc.common.id_type_resident")),
        (sheet.t("doc.common.id_number"), issue.id_masked),
    ]
