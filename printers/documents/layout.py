"""Drawing kit shared by the document templates (A4 portrait, points, origin bottom-left).

Official certificates look alike: a framed page, a centred title, bordered
field tables, a statement, the issuing authority with its red seal, and a QR
code to verify.  ``Sheet`` draws those parts; templates only choose content.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import secrets
from collections.abc import Iterable, Sequence

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from kiosk.core.i18n import t

from .fonts import FONT, register_fonts

# Content streams are zlib-compressed binary; reportlab's default ASCII85 wrapping
# (pure Python without its C accelerator) adds a quarter to the size and ~15 ms a page.
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
INK = colors.HexColor("#1a1a1a")
GRID = colors.HexColor("#333333")
SHADE = colors.HexColor("#f2f2f2")
SEAL_RED = colors.HexColor("#d8262c")
FAINT = colors.HexColor("#eef1f5")


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def as_datetime(value, default: dt.datetime | None = None) -> dt.datetime:
    if value is None or value == "":
        return default or now()
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value)).replace(microsecond=0)


def date_text(value: dt.datetime, lang: str = "zh") -> str:
    return f"{value.year}年{value.month}月{value.day}日" if lang == "zh" else value.strftime("%d %b %Y")


def datetime_text(value: dt.datetime, lang: str = "zh") -> str:
    return f"{date_text(value, lang)} {value:%H:%M}"


def make_serial(prefix: str, when: dt.datetime) -> str:
    return f"{prefix}{when:%Y%m%d%H%M%S}{secrets.randbelow(10000):04d}"


def money(value) -> str:
    return f"{float(value):,.2f}"


class Sheet:
    """One A4 page being drawn."""

    def __init__(self, title: str, lang: str = "zh"):
        register_fonts()
        self.lang = lang
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=A4, initialFontName=FONT, initialFontSize=11, pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor("")
        self.c.setCreator("kiosk")
        self.c.setSubject(title)
        self.c.setFillColor(INK)
        self.c.setStrokeColor(INK)

    def t(self, key: str, **kw) -> str:
        return t(key, self.lang, **kw)

    # --- text ---
    def text(self, x: float, y: float, s: str, size: float = 11, font: str = FONT, align: str = "left",
             bold: bool = False, color=INK, spacing: float = 0) -> None:
        c = self.c
        c.saveState()
        c.setFillColor(color)
        c.setStrokeColor(color)
        width = self.width(s, size, font) + spacing * max(0, len(s) - 1)
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        obj = c.beginText(x, y)
        obj.setFont(font, size)
        obj.setCharSpace(spacing)
        if bold:  # the font has one weight: stroke the outline for a heavier title face
            obj.setTextRenderMode(2)
            c.setLineWidth(size * 0.035)
        obj.textOut(s)
        c.drawText(obj)
        c.restoreState()

    @staticmethod
    def width(s: str, size: float, font: str = FONT) -> float:
        return pdfmetrics.stringWidth(s, font, size)

    def paragraph(self, x: float, top: float, width: float, markup: str, size: float = 10.5,
                  leading: float | None = None, align: int = 0, color=INK, indent: float = 0) -> float:
        """Wrapped text (CJK line breaking); returns the y below it."""
        style = ParagraphStyle("p", fontName=FONT, fontSize=size, leading=leading or size * 1.6,
                               alignment=align, textColor=color, wordWrap="CJK", firstLineIndent=indent)
        p = Paragraph(markup, style)
        _, h = p.wrap(width, PAGE_H)
        p.drawOn(self.c, x, top - h)
        return top - h

    # --- frames and rules ---
    def frame(self) -> None:
        c = self.c
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(1.2)
        c.rect(12 * mm, 12 * mm, PAGE_W - 24 * mm, PAGE_H - 24 * mm)
        c.setLineWidth(0.4)
        c.rect(13.5 * mm, 13.5 * mm, PAGE_W - 27 * mm, PAGE_H - 27 * mm)
        c.restoreState()

    def background_mark(self) -> None:
        """Faint interlaced waves, as on security paper.  Vector lines, not text, so
        the page's extracted text stays exactly the document's own."""
        self.c.addLiteral(_background_ops())

    def rule(self, y: float, x0: float = MARGIN, x1: float = PAGE_W - MARGIN, width: float = 0.6, double=False) -> None:
        c = self.c
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(width * (2.2 if double else 1))
        c.line(x0, y, x1, y)
        if double:
            c.setLineWidth(width * 0.6)
            c.line(x0, y - 3, x1, y - 3)
        c.restoreState()

    # --- tables ---
    def field_table(self, top: float, rows: Sequence[tuple[str, str]], label_w: float = 34 * mm,
                    x: float = MARGIN, width: float = PAGE_W - 2 * MARGIN, size: float = 11,
                    strong: Iterable[int] = (), draw: bool = True) -> float:
        """Two-column bordered table (label | value); values wrap.  Returns the bottom y
        (with ``draw=False`` only that: for page planning)."""
        c = self.c
        strong = set(strong)
        pad = 1.6 * mm
        y = top
        for i, (label, value) in enumerate(rows):
            style = ParagraphStyle("v", fontName=FONT, fontSize=size, leading=size * 1.45, wordWrap="CJK")
            p = Paragraph(escape(value), style)
            _, h = p.wrap(width - label_w - 2 * pad, PAGE_H)
            row_h = max(size * 2.3, h + 2 * pad)
            if not draw:
                y -= row_h
                continue
            c.saveState()
            c.setFillColor(SHADE)
            c.rect(x, y - row_h, label_w, row_h, stroke=0, fill=1)
            c.restoreState()
            self.text(x + label_w / 2, y - row_h / 2 - size * 0.35, label, size, align="center")
            if i in strong:
                self.text(x + label_w + pad, y - row_h / 2 - size * 0.35, value, size + 0.5, bold=True)
            else:
                p.drawOn(c, x + label_w + pad, y - row_h / 2 - h / 2)
            self._box(x, y - row_h, width, row_h, label_w)
            y -= row_h
        return y

    def _box(self, x, y, w, h, split=None) -> None:
        c = self.c
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(0.6)
        c.rect(x, y, w, h)
        if split:
            c.line(x + split, y, x + split, y + h)
        c.restoreState()

    def grid_table(self, top: float, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
                   aligns: Sequence[str] | None = None, x: float = MARGIN, size: float = 9.5,
                   row_h: float | None = None, footer: Sequence[str] | None = None) -> float:
        """A ruled table with a shaded header (and optional shaded total row).  Returns the bottom y."""
        c = self.c
        aligns = aligns or ["center"] * len(widths)
        row_h = row_h or size * 2.1
        total_w = sum(widths)
        all_rows = [(header, True)] + [(r, False) for r in rows] + ([(footer, True)] if footer else [])
        y = top
        for cells, shaded in all_rows:
            if shaded:
                c.saveState()
                c.setFillColor(SHADE)
                c.rect(x, y - row_h, total_w, row_h, stroke=0, fill=1)
                c.restoreState()
            cx = x
            for cell, w, align in zip(cells, widths, aligns):
                a = "center" if shaded and cells is header else align
                tx = {"left": cx + 2 * mm, "center": cx + w / 2, "right": cx + w - 2 * mm}[a]
                self.text(tx, y - row_h / 2 - size * 0.35, str(cell), size, align=a)
                cx += w
            y -= row_h
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(0.6)
        c.rect(x, y, total_w, top - y)
        for i in range(1, len(all_rows)):
            yy = top - i * row_h
            c.setLineWidth(0.6 if i in (1, len(all_rows) - (1 if footer else 0)) else 0.3)
            c.line(x, yy, x + total_w, yy)
        c.setLineWidth(0.3)
        cx = x
        for w in widths[:-1]:
            cx += w
            c.line(cx, y, cx, top)
        c.restoreState()
        return y

    # --- seal and QR ---
    def seal(self, cx: float, cy: float, authority: str, bottom: str, r: float = 21 * mm) -> None:
        """A round red seal: authority along the upper arc, a star, a line of text below it."""
        c = self.c
        c.saveState()
        c.setStrokeColor(SEAL_RED)
        c.setFillColor(SEAL_RED)
        c.setFillAlpha(0.85)
        c.setStrokeAlpha(0.85)
        c.setLineWidth(2.2)
        c.circle(cx, cy, r)
        c.setLineWidth(0.6)
        c.circle(cx, cy, r - 2.4)
        n = len(authority)
        span = min(230.0, 28.0 * n)  # degrees of the upper arc the name covers
        text_r = r - 4.2 - 6
        size = min(12.5, text_r * math.radians(span) / (n * 1.08)) if n else 12
        for i, ch in enumerate(authority):
            angle = span / 2 - (span * i / (n - 1) if n > 1 else 0)  # left to right over the top
            c.saveState()
            c.translate(cx, cy)
            c.rotate(angle)
            c.setFont(FONT, size)
            c.drawCentredString(0, r - 4.2 - size, ch)
            c.restoreState()
        self._star(cx, cy + r * 0.02, r * 0.27)
        c.setFont(FONT, 8.5)
        c.drawCentredString(cx, cy - r * 0.55, bottom)
        c.restoreState()

    def _star(self, cx: float, cy: float, r: float) -> None:
        p = self.c.beginPath()
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.382
            a = math.pi / 2 + k * math.pi / 5
            x, y = cx + rad * math.cos(a), cy + rad * math.sin(a)
            p.moveTo(x, y) if k == 0 else p.lineTo(x, y)
        p.close()
        self.c.drawPath(p, stroke=0, fill=1)

    def qr(self, x: float, y: float, size: float, data: str) -> None:
        """QR code with bottom-left corner (x, y), drawn as vector runs of dark modules."""
        # A fixed mask pattern skips the 8-way mask search (15 ms -> 3 ms); any mask scans.
        q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=2)
        q.add_data(data)
        q.make(fit=True)
        matrix = q.get_matrix()
        n = len(matrix)
        # Raw operators in module units under one transform: ~1,500 rectangles
        # through canvas.rect() cost more than the rest of the page.
        ops = [f"q {size / n:.4f} 0 0 {size / n:.4f} {x:.2f} {y:.2f} cm",
               f"1 g -4 -4 {n + 8} {n + 8} re f 0 g"]  # 4-module quiet zone
        for r, row in enumerate(matrix):
            start = None
            for col in range(n + 1):
                dark = col < n and row[col]
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    ops.append(f"{start} {n - 1 - r} {col - start} 1 re")
                    start = None
        ops.append("f Q")
        self.c.addLiteral("\n".join(ops))

    # --- output ---
    def finish(self, metadata: dict[str, str] | None = None) -> bytes:
        self.c.showPage()
        self.c.save()
        data = self.buf.getvalue()
        if not metadata:
            return data
        # reportlab writes only the standard /Info keys; pypdf adds ours (about 2 ms).
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        writer.add_metadata(metadata)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()


@functools.lru_cache(maxsize=1)
def _background_ops() -> str:
    """PDF operators for the wave pattern; the same on every page, so built once."""
    x0, x1 = 14 * mm, PAGE_W - 14 * mm
    ops = ["q 0.5 w 0.933 0.945 0.961 RG"]  # FAINT
    for k in range(1, 31):
        base = 14 * mm + k * 26.0
        for phase in (0.0, math.pi):
            ops.append(_sine_ops(x0, x1, base, 10.0, 38.0, phase + k * 0.35))
    ops.append("S Q")
    return "\n".join(ops)


def _sine_ops(x0: float, x1: float, base: float, amp: float, div: float, phase: float) -> str:
    """y = base + amp*sin(x/div + phase) from x0 to x1 as cubic Beziers, one per quarter wave
    (Hermite end tangents; the error is far below a printer dot)."""
    def y(x: float) -> float:
        return base + amp * math.sin(x / div + phase)

    def dy(x: float) -> float:
        return amp / div * math.cos(x / div + phase)

    step = div * math.pi / 2
    out = [f"{x0:.2f} {y(x0):.2f} m"]
    a = x0
    while a < x1:
        b = min(a + step, x1)
        h = (b - a) / 3
        out.append(f"{a + h:.2f} {y(a) + h * dy(a):.2f} {b - h:.2f} {y(b) - h * dy(b):.2f} {b:.2f} {y(b):.2f} c")
        a = b
    return " ".join(out)


def escape(s: str) -> str:
    """Text for a reportlab Paragraph (which reads a small markup language)."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
