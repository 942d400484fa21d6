"""An ESC/POS interpreter: the byte stream a printer receives, turned into
pages (PNG images of the paper) and the text printed on them.

It is the printer's half of the protocol, so it parses incrementally (a TCP
read may end in the middle of a command) and answers real-time status
requests (DLE EOT, GS r) through a callback wherever they appear in the
stream.  Text follows the printer's rules: in Chinese mode (FS &) bytes
0x81..0xFE start a GB18030 character, otherwise bytes above 0x7F come from the
PC437 table, which is what a printer prints when a driver forgets FS &.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Callable

from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_PATH = os.environ.get("KIOSK_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DOTS = {58: 384, 80: 576}
PAPER_DOTS = {58: 464, 80: 640}  # full paper width at 203 dpi (8 dots/mm)
CELL_H = 24  # font A: 12x24 half-width, 24x24 full-width
LINE_SPACING = 6
TOP_MARGIN = 16


@dataclass
class Run:
    text: str
    w: int
    h: int
    bold: bool
    underline: bool


@dataclass
class Element:
    kind: str  # line | image | feed
    height: int
    align: int = 0
    runs: list = field(default_factory=list)
    image: Image.Image | None = None


@dataclass
class Page:
    elements: list = field(default_factory=list)
    lines: list = field(default_factory=list)  # decoded text, one entry per printed line/code
    complete: bool = True  # False when the paper ran out before the cut

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def height(self) -> int:
        return sum(e.height for e in self.elements)


def _char_cells(ch: str) -> int:
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Interpreter:
    """Feed bytes with ``feed()``; it returns the bytes the printer answers.

    ``status(n) -> int`` answers DLE EOT n.  ``paper_left`` (dots, or None for an
    endless roll) makes the paper run out mid-page; ``on_paper_out`` is then
    called and everything up to the next ``reload()`` is lost, like a printer
    whose roll ended.
    """

    def __init__(self, paper_mm: int = 80, status: Callable[[int], int] | None = None,
                 on_page: Callable[[Page], None] | None = None):
        self.paper_mm = paper_mm
        self.dots = DOTS[paper_mm]
        self.status = status or (lambda n: 0x12)
        self.on_page = on_page
        self.on_paper_out: Callable[[], None] | None = None
        self.paper_left: int | None = None
        self.accepting = True  # False while out of paper / cover open: data is dropped
        self.pages: list[Page] = []
        self.page = Page()
        self._buf = bytearray()
        self.asb = 0
        self.reset()

    # --- state ---------------------------------------------------------
    def reset(self) -> None:
        self.align = 0
        self.w = self.h = 1
        self.bold = self.underline = False
        self.chinese = False
        self.bc_height, self.bc_module, self.bc_hri = 162, 3, 0
        self.qr = {"model": 2, "module": 3, "level": 48, "data": b""}
        self.runs: list[Run] = []
        self.line_dots = 0

    def reload(self) -> None:
        self.accepting = True
        self.paper_left = None

    # --- input ---------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        pos = 0
        buf = self._buf
        while pos < len(buf):
            try:
                used = self._step(buf, pos, out)
            except (ValueError, IndexError, OSError):  # a malformed command: skip a byte, like a printer
                used = 1
            if used == 0:
                break
            pos += used
        del self._buf[:pos]
        return bytes(out)

    def _step(self, b: bytearray, i: int, out: bytearray) -> int:
        """Consume one command or character at ``i``; 0 means "need more bytes"."""
        c = b[i]
        n = len(b) - i

        def need(k: int) -> bool:
            return n >= k

        if c == 0x0A:
            self._newline()
            return 1
        if c in (0x0D, 0x00):
            return 1
        if c == 0x09:
            self._text(" " * (8 - (self.line_dots // 12) % 8))
            return 1
        if c == 0x10:  # DLE
            if not need(3):
                return 0
            sub = b[i + 1]
            if sub == 0x04:
                out.append(self.status(b[i + 2]) & 0xFF)
                return 3
            if sub == 0x05:
                return 3
            if sub == 0x14:
                fn = b[i + 2]
                if fn == 0x08:
                    if not need(10):
                        return 0
                    self.runs, self.line_dots = [], 0  # clear buffers
                    return 10
                return 5 if need(5) else 0
            return 1
        if c == 0x1B:  # ESC
            if not need(2):
                return 0
            cmd = chr(b[i + 1])
            if cmd == "@":
                self._flush_partial()
                self.reset()
                return 2
            one_arg = "aE!-dJtMG3R{V U=r"
            if cmd == "c":
                return 4 if need(4) else 0
            if cmd == "p":
                return 5 if need(5) else 0
            if cmd == "$" or cmd == "\\":
                return 4 if need(4) else 0
            if cmd == "*":
                if not need(5):
                    return 0
                m, nl, nh = b[i + 2], b[i + 3], b[i + 4]
                k = (nl + 256 * nh) * (3 if m in (32, 33) else 1)
                return 5 + k if need(5 + k) else 0
            if cmd in one_arg:
                if not need(3):
                    return 0
                v = b[i + 2]
                if cmd == "a":
                    self.align = v % 48 if v >= 48 else v
                elif cmd == "E":
                    self.bold = bool(v & 1)
                elif cmd == "-":
                    self.underline = bool(v & 3)
                elif cmd == "!":
                    self.bold = bool(v & 0x08)
                    self.h = 2 if v & 0x10 else 1
                    self.w = 2 if v & 0x20 else 1
                    self.underline = bool(v & 0x80)
                elif cmd == "d":
                    self._newline_if_text()
                    self._add(Element("feed", v * (CELL_H + LINE_SPACING)))
                elif cmd == "J":
                    self._newline_if_text()
                    self._add(Element("feed", v))
                return 3
            return 2
        if c == 0x1C:  # FS
            if not need(2):
                return 0
            cmd = chr(b[i + 1])
            if cmd == "&":
                self.chinese = True
                return 2
            if cmd == ".":
                self.chinese = False
                return 2
            if cmd in "!-CW":
                return 3 if need(3) else 0
            if cmd in "Sp":
                return 4 if need(4) else 0
            return 2
        if c == 0x1D:  # GS
            if not need(2):
                return 0
            cmd = chr(b[i + 1])
            if cmd == "!":
                if not need(3):
                    return 0
                v = b[i + 2]
                self.w, self.h = (v >> 4) + 1, (v & 0x0F) + 1
                return 3
            if cmd == "V":
                if not need(3):
                    return 0
                m = b[i + 2]
                k = 4 if m in (65, 66, 97, 98, 103, 104) else 3
                if not need(k):
                    return 0
                if k == 4 and m in (65, 66):
                    self._newline_if_text()
                    self._add(Element("feed", b[i + 3]))
                self._cut()
                return k
            if cmd in "hwHfaBbr":
                if not need(3):
                    return 0
                v = b[i + 2]
                if cmd == "h":
                    self.bc_height = v
                elif cmd == "w":
                    self.bc_module = v
                elif cmd == "H":
                    self.bc_hri = v % 48 if v >= 48 else v
                elif cmd == "a":
                    self.asb = v
                elif cmd == "r":
                    # GS r 1: paper sensor status in bits 0-3 (translated from DLE EOT 4)
                    p = self.status(4)
                    out.append(((0x03 if p & 0x0C else 0) | (0x0C if p & 0x60 else 0)) & 0xFF)
                return 3
            if cmd in "LW":
                return 4 if need(4) else 0
            if cmd == "(":
                if not need(5):
                    return 0
                ln = b[i + 3] + 256 * b[i + 4]
                if not need(5 + ln):
                    return 0
                body = bytes(b[i + 5:i + 5 + ln])
                if chr(b[i + 2]) == "k":
                    self._code2d(body)
                elif chr(b[i + 2]) == "H" and body[:1] == b"\x30" and len(body) == 6 and self.accepting:
                    # process ID response: sent once everything before it has printed
                    self._newline_if_text()
                    out += b"\x37\x22" + body[2:6] + b"\x00"
                return 5 + ln
            if cmd == "k":
                return self._barcode(b, i)
            if cmd == "v":
                if not need(8):
                    return 0
                m = b[i + 3]
                xb = b[i + 4] + 256 * b[i + 5]
                yd = b[i + 6] + 256 * b[i + 7]
                k = 8 + xb * yd
                if not need(k):
                    return 0
                self._raster(bytes(b[i + 8:i + k]), xb, yd, m)
                return k
            return 2
        # printable text
        if self.chinese and 0x81 <= c <= 0xFE:
            if not need(2):
                return 0
            k = 4 if 0x30 <= b[i + 1] <= 0x39 else 2
            if not need(k):
                return 0
            self._text(bytes(b[i:i + k]).decode("gb18030", errors="replace"))
            return k
        if c >= 0x80:
            self._text(bytes((c,)).decode("cp437"))
            return 1
        if c >= 0x20:
            j = i
            while j < len(b) and 0x20 <= b[j] < 0x7F:
                j += 1
            self._text(bytes(b[i:j]).decode("ascii"))
            return j - i
        return 1

    # --- content -------------------------------------------------------
    def _text(self, s: str) -> None:
        for ch in s:
            cw = 12 * _char_cells(ch) * self.w
            if self.line_dots + cw > self.dots and self.runs:
                self._newline()  # the printer wraps at the right margin
            r = self.runs[-1] if self.runs else None
            if r and (r.w, r.h, r.bold, r.underline) == (self.w, self.h, self.bold, self.underline):
                r.text += ch
            else:
                self.runs.append(Run(ch, self.w, self.h, self.bold, self.underline))
            self.line_dots += cw

    def _newline(self) -> None:
        runs, self.runs, self.line_dots = self.runs, [], 0
        h = max((r.h for r in runs), default=1) * CELL_H + LINE_SPACING
        self._add(Element("line", h, self.align, runs=runs), "".join(r.text for r in runs).rstrip())

    def _newline_if_text(self) -> None:
        if self.runs:
            self._newline()

    def _flush_partial(self) -> None:
        self._newline_if_text()

    def _add(self, el: Element, line: str | None = None) -> None:
        if not self.accepting:
            return
        if self.paper_left is not None:
            if el.height > self.paper_left:
                self.paper_left = 0
                self.accepting = False
                self.page.complete = False
                self._finish_page()
                if self.on_paper_out:
                    self.on_paper_out()
                return
            self.paper_left -= el.height
        self.page.elements.append(el)
        if line is not None and el.kind != "feed":
            self.page.lines.append(line)

    def _cut(self) -> None:
        if not self.accepting:
            return
        self._finish_page()

    def _finish_page(self) -> None:
        page, self.page = self.page, Page()
        if page.elements:
            self.pages.append(page)
            if self.on_page:
                self.on_page(page)

    def _code2d(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 49:  # cn '1' = QR code
            return
        fn, arg = body[1], body[2:]
        if fn == 65 and arg:
            self.qr["model"] = arg[0] - 48
        elif fn == 67 and arg:
            self.qr["module"] = arg[0]
        elif fn == 69 and arg:
            self.qr["level"] = arg[0]
        elif fn == 80:
            self.qr["data"] = arg[1:]  # m='0' then data
        elif fn == 81:
            self._newline_if_text()
            data = self.qr["data"].decode("utf-8", errors="replace")
            img = render_qr(data, self.qr["module"], self.qr["level"] - 48)
            self._add(Element("image", img.height + LINE_SPACING, self.align, image=img), f"[QR] {data}")

    def _barcode(self, b: bytearray, i: int) -> int:
        if len(b) - i < 3:
            return 0
        m = b[i + 2]
        if m <= 6:  # function A: NUL-terminated
            end = b.find(b"\x00", i + 3)
            if end < 0:
                return 0
            data, used = bytes(b[i + 3:end]), end + 1 - i
        else:
            if len(b) - i < 4:
                return 0
            k = b[i + 3]
            if len(b) - i < 4 + k:
                return 0
            data, used = bytes(b[i + 4:i + 4 + k]), 4 + k
        self._newline_if_text()
        shown = data[2:] if m == 73 and data[:1] == b"{" else data
        img = render_barcode(shown.decode("ascii", errors="replace"), self.bc_module, self.bc_height,
                             self.bc_hri in (2, 3))
        self._add(Element("image", img.height + LINE_SPACING, self.align, image=img),
                  f"[BARCODE] {shown.decode('ascii', errors='replace')}")
        return used

    def _raster(self, data: bytes, xbytes: int, ydots: int, m: int) -> None:
        self._newline_if_text()
        img = Image.frombytes("1", (xbytes * 8, ydots), data)
        img = ImageOps.invert(img.convert("L"))  # ESC/POS: bit 1 = black dot
        if m & 1:
            img = img.resize((img.width * 2, img.height))
        if m & 2:
            img = img.resize((img.width, img.height * 2))
        self._add(Element("image", img.height, self.align, image=img), f"[IMAGE {img.width}x{img.height}]")


# --- drawing -----------------------------------------------------------------
def render_qr(data: str, module: int, level: int) -> Image.Image:
    import qrcode
    from qrcode import constants as qc

    ec = [qc.ERROR_CORRECT_L, qc.ERROR_CORRECT_M, qc.ERROR_CORRECT_Q, qc.ERROR_CORRECT_H][max(0, min(level, 3))]
    qr = qrcode.QRCode(version=None, error_correction=ec, box_size=max(1, module), border=0)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("L")


def render_barcode(data: str, module: int, height: int, hri: bool) -> Image.Image:
    from barcode.codex import Code128

    bits = Code128(data, writer=None).build()[0]
    w = len(bits) * module
    text_h = 24 if hri else 0
    img = Image.new("L", (w, height + text_h), 255)
    d = ImageDraw.Draw(img)
    for k, bit in enumerate(bits):
        if bit == "1":
            d.rectangle([k * module, 0, (k + 1) * module - 1, height - 1], fill=0)
    if hri:
        font = _font(18)
        tw = d.textlength(data, font=font)
        d.text(((w - tw) / 2, height + 2), data, font=font, fill=0)
    return img


_FONTS: dict[int, ImageFont.FreeTypeFont] = {}
_GLYPHS: dict[tuple, Image.Image] = {}


def _font(px: int) -> ImageFont.FreeTypeFont:
    if px not in _FONTS:
        try:
            _FONTS[px] = ImageFont.truetype(FONT_PATH, px)
        except OSError:
            _FONTS[px] = ImageFont.load_default(px)
    return _FONTS[px]


def _glyph(ch: str, w: int, h: int, bold: bool) -> Image.Image:
    """One character cell (12 or 24 dots wide, times the magnification)."""
    key = (ch, w, h, bold)
    img = _GLYPHS.get(key)
    if img is None:
        cells = _char_cells(ch)
        base_w, base_h = 12 * cells * h, CELL_H * h  # draw square-scaled, then stretch width
        font = _font(int(22 * h))
        # emphasis is printed as a double strike shifted by a dot or two
        strikes = range(max(2, h)) if bold else range(1)
        # the printer's font A is monospaced; squeeze wide Latin glyphs (m, W) into the cell
        tw = int(font.getlength(ch)) + len(strikes)
        canvas_w = max(base_w, tw)
        img = Image.new("L", (canvas_w, base_h), 255)
        d = ImageDraw.Draw(img)
        for dx in strikes:
            d.text(((canvas_w - len(strikes) + 1) / 2 + dx, base_h / 2), ch, font=font, fill=0, anchor="mm")
        if canvas_w != base_w or w != h:
            img = img.resize((12 * cells * w, base_h), Image.LANCZOS)
        _GLYPHS[key] = img
    return img


def page_image(page: Page, paper_mm: int = 80) -> Image.Image:
    dots, paper = DOTS[paper_mm], PAPER_DOTS[paper_mm]
    margin = (paper - dots) // 2
    height = TOP_MARGIN * 2 + page.height
    img = Image.new("L", (paper, height), 255)
    d = ImageDraw.Draw(img)
    y = TOP_MARGIN
    for el in page.elements:
        if el.kind == "line":
            width = sum(12 * sum(_char_cells(c) for c in r.text) * r.w for r in el.runs)
            x = margin + _offset(el.align, dots, width)
            line_h = el.height - LINE_SPACING
            for r in el.runs:
                for ch in r.text:
                    g = _glyph(ch, r.w, r.h, r.bold)
                    img.paste(g, (x, y + line_h - g.height))
                    if r.underline:
                        d.line([x, y + line_h, x + g.width, y + line_h], fill=0, width=2)
                    x += g.width
        elif el.kind == "image" and el.image is not None:
            img.paste(el.image, (margin + _offset(el.align, dots, el.image.width), y))
        y += el.height
    if not page.complete:  # a torn-off end where the roll ran out
        for x in range(0, paper, 16):
            d.polygon([(x, height), (x + 8, height - 10), (x + 16, height)], fill=200)
    return img


def _offset(align: int, dots: int, width: int) -> int:
    if align == 1:
        return max(0, (dots - width) // 2)
    if align == 2:
        return max(0, dots - width)
    return 0


def page_png(page: Page, paper_mm: int = 80) -> bytes:
    buf = io.BytesIO()
    page_image(page, paper_mm).save(buf, "PNG", optimize=False)
    return buf.getvalue()


def render_bytes(data: bytes, paper_mm: int = 80) -> list[Page]:
    """Interpret a complete job offline (docs images, tests)."""
    it = Interpreter(paper_mm)
    it.feed(data)
    it._newline_if_text()
    if it.page.elements:
        it._finish_page()
    return it.pages
