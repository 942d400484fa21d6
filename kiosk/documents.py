"""Documents the application issues: signed certificates (with the audit
record of each serial), receipts on A4 when the receipt printer cannot, and
the public verification link a receipt's QR code opens."""

from __future__ import annotations

import datetime as dt
import hashlib

# certificate number prefixes (the renderers' own defaults), assigned here so the audit trail names the serial
SERIAL_PREFIXES = {"no_property": "BDC", "social_security": "SBJF", "provident_fund": "GJJTQ"}


def render_document(app, kind: str, data: dict, lang: str = "zh") -> bytes:
    """A signed certificate PDF; its serial and hash (no personal data) go to the audit trail."""
    from printers.documents import RENDERERS
    from printers.documents.layout import make_serial

    if app.signer is None:
        raise RuntimeError("no document-signing certificate: certificates cannot be issued")
    data = dict(data)
    data.setdefault("terminal_id", app.config.terminal_id)
    data.setdefault("valid_days", int(app.config.get("certificates.valid_days", 30)))
    # certificates.issuer names the property registry; the social security
    # and provident fund documents keep their own issuing bodies.
    if kind == "no_property" and app.config.get("certificates.issuer"):
        data.setdefault("authority", app.config.get("certificates.issuer"))
    data.setdefault("verify_base", _verify_base(app))
    prefix = SERIAL_PREFIXES.get(kind)
    if prefix is None and kind == "hall":  # a data-driven service's certificate: its template names the prefix
        from printers.documents.hall import template

        prefix = template(str(data.get("template", "")))["serial_prefix"]
    data.setdefault("serial", make_serial(prefix or "DOC", dt.datetime.now()))
    pdf = RENDERERS[kind](data, app.signer, lang=lang)
    if app.audit is not None:  # the serial and the file's hash only: no personal data
        app.audit.record("certificate_issued", document=kind, serial=data["serial"],
                         sha256=hashlib.sha256(pdf).hexdigest())
    return pdf


def render_slip(kind: str, job: dict) -> bytes:
    """A receipt printed on the A4 printer when the receipt printer cannot:
    the same ESC/POS layout, rendered to an image, placed on an A4 page."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from printers.escpos.layouts import receipt_fields, render, ticket_fields
    from printers.escpos.render import Interpreter, page_image

    fields = ticket_fields(job) if kind == "ticket" else receipt_fields(job)
    pages: list = []
    Interpreter(80, on_page=pages.append).feed(render(kind, fields, 80))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for page in pages:
        img = page_image(page, 80)
        width = 80 * mm
        height = width * img.height / img.width
        pdf.drawImage(ImageReader(img), (A4[0] - width) / 2, max(10 * mm, A4[1] - 15 * mm - height),
                      width, min(height, A4[1] - 25 * mm))
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _verify_base(app) -> str:
    from printers.documents.signing import verify_base

    return verify_base(app.config, getattr(app.central, "base_url", "") or "")


def verify_url(app, ref: str) -> str:
    """The public page a receipt's QR code opens (``central.public_url``; demo: central itself)."""
    base = _verify_base(app)
    return f"{base}/v1/verify/{ref}" if ref and base else ""
