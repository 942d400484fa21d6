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
from collections.abc import Callable
from dataclasses import dataclass, field

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
        return _BY_FIRST_BYTE.get(b[i], _printable)(self, b, i, out)

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


# --- the command table ---------------------------------------------------------
# A handler takes (interpreter, buffer, index of the command's first byte, answer
# bytes) and returns how many bytes it consumed, 0 when the command is not all there yet.
Handler = Callable[[Interpreter, bytearray, int, bytearray], int]


def _skip(k: int) -> Handler:
    """A ``k``-byte command that leaves nothing on the paper (drawer pulse, positions...)."""
    return lambda it, b, i, out: k if len(b) - i >= k else 0


def _setting(apply: Callable[[Interpreter, int, bytearray], None] | None = None) -> Handler:
    """A three-byte command with one argument (ESC/GS x n)."""
    def run(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
        if len(b) - i < 3:
            return 0
        if apply is not None:
            apply(it, b[i + 2], out)
        return 3
    return run


def _prefixed(table: dict[str, Handler]) -> Handler:
    """ESC, FS and GS: the second byte names the command; unknown ones take two bytes."""
    def run(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
        if len(b) - i < 2:
            return 0
        return table.get(chr(b[i + 1]), _skip(2))(it, b, i, out)
    return run


def _tab(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    it._text(" " * (8 - (it.line_dots // 12) % 8))
    return 1


def _newline(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    it._newline()
    return 1


def _dle(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """DLE EOT n (real-time status), DLE ENQ, DLE DC4 (real-time requests)."""
    n = len(b) - i
    if n < 3:
        return 0
    sub = b[i + 1]
    if sub == 0x04:
        out.append(it.status(b[i + 2]) & 0xFF)
        return 3
    if sub == 0x05:
        return 3
    if sub == 0x14:
        if b[i + 2] == 0x08:  # clear buffers
            if n < 10:
                return 0
            it.runs, it.line_dots = [], 0
            return 10
        return 5 if n >= 5 else 0
    return 1


def _esc_init(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    it._flush_partial()
    it.reset()
    return 2


def _esc_bit_image(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """ESC * m nL nH d...: skipped (the layouts print images with GS v 0)."""
    if len(b) - i < 5:
        return 0
    m, nl, nh = b[i + 2], b[i + 3], b[i + 4]
    k = 5 + (nl + 256 * nh) * (3 if m in (32, 33) else 1)
    return k if len(b) - i >= k else 0


def _esc_mode(it: Interpreter, v: int, out: bytearray) -> None:
    it.bold = bool(v & 0x08)
    it.h = 2 if v & 0x10 else 1
    it.w = 2 if v & 0x20 else 1
    it.underline = bool(v & 0x80)


def _feed(dots_per_unit: int) -> Callable[[Interpreter, int, bytearray], None]:
    def apply(it: Interpreter, v: int, out: bytearray) -> None:
        it._newline_if_text()
        it._add(Element("feed", v * dots_per_unit))
    return apply


def _set(attr: str, convert: Callable[[int], object]) -> Callable[[Interpreter, int, bytearray], None]:
    return lambda it, v, out: setattr(it, attr, convert(v))


def _digit_or_value(v: int) -> int:
    """Arguments given as the digit '0'..'2' or as the value 0..2."""
    return v % 48 if v >= 48 else v


ESC: dict[str, Handler] = {
    "@": _esc_init,
    "c": _skip(4), "p": _skip(5), "$": _skip(4), "\\": _skip(4),
    "*": _esc_bit_image,
    "a": _setting(_set("align", _digit_or_value)),
    "E": _setting(_set("bold", lambda v: bool(v & 1))),
    "-": _setting(_set("underline", lambda v: bool(v & 3))),
    "!": _setting(_esc_mode),
    "d": _setting(_feed(CELL_H + LINE_SPACING)),
    "J": _setting(_feed(1)),
    # settings without an effect on the simulated paper
    **{cmd: _setting() for cmd in "tMG3R{V U=r"},
}

def _chinese(on: bool) -> Handler:
    """FS & / FS .: GB18030 text on or off."""
    def run(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
        it.chinese = on
        return 2
    return run


FS: dict[str, Handler] = {
    "&": _chinese(True),
    ".": _chinese(False),
    **{cmd: _skip(3) for cmd in "!-CW"},
    **{cmd: _skip(4) for cmd in "Sp"},
}


def _gs_size(it: Interpreter, v: int, out: bytearray) -> None:
    it.w, it.h = (v >> 4) + 1, (v & 0x0F) + 1


def _gs_paper_status(it: Interpreter, v: int, out: bytearray) -> None:
    # GS r 1: paper sensor status in bits 0-3 (translated from DLE EOT 4)
    p = it.status(4)
    out.append(((0x03 if p & 0x0C else 0) | (0x0C if p & 0x60 else 0)) & 0xFF)


def _gs_cut(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """GS V m [n]: cut, after feeding n dots for m = 65/66."""
    if len(b) - i < 3:
        return 0
    m = b[i + 2]
    k = 4 if m in (65, 66, 97, 98, 103, 104) else 3
    if len(b) - i < k:
        return 0
    if k == 4 and m in (65, 66):
        it._newline_if_text()
        it._add(Element("feed", b[i + 3]))
    it._cut()
    return k


def _gs_extended(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """GS ( fn pL pH body: 2D codes (k) and the process ID response (H)."""
    if len(b) - i < 5:
        return 0
    ln = b[i + 3] + 256 * b[i + 4]
    if len(b) - i < 5 + ln:
        return 0
    body = bytes(b[i + 5:i + 5 + ln])
    if chr(b[i + 2]) == "k":
        it._code2d(body)
    elif chr(b[i + 2]) == "H" and body[:1] == b"\x30" and len(body) == 6 and it.accepting:
        # process ID response: sent once everything before it has printed
        it._newline_if_text()
        out += b"\x37\x22" + body[2:6] + b"\x00"
    return 5 + ln


def _gs_raster(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """GS v 0 m xL xH yL yH d...: a raster image."""
    if len(b) - i < 8:
        return 0
    m = b[i + 3]
    xb = b[i + 4] + 256 * b[i + 5]
    yd = b[i + 6] + 256 * b[i + 7]
    k = 8 + xb * yd
    if len(b) - i < k:
        return 0
    it._raster(bytes(b[i + 8:i + k]), xb, yd, m)
    return k


GS: dict[str, Handler] = {
    "!": _setting(_gs_size),
    "V": _gs_cut,
    "h": _setting(_set("bc_height", int)),
    "w": _setting(_set("bc_module", int)),
    "H": _setting(_set("bc_hri", _digit_or_value)),
    "a": _setting(_set("asb", int)),
    "r": _setting(_gs_paper_status),
    **{cmd: _setting() for cmd in "fBb"},
    "L": _skip(4), "W": _skip(4),
    "(": _gs_extended,
    "k": lambda it, b, i, out: it._barcode(b, i),
    "v": _gs_raster,
}


def _printable(it: Interpreter, b: bytearray, i: int, out: bytearray) -> int:
    """Text: GB18030 in Chinese mode, PC437 above 0x7F otherwise, a run of ASCII at once."""
    c = b[i]
    if it.chinese and 0x81 <= c <= 0xFE:
        if len(b) - i < 2:
            return 0
        k = 4 if 0x30 <= b[i + 1] <= 0x39 else 2
        if len(b) - i < k:
            return 0
        it._text(bytes(b[i:i + k]).decode("gb18030", errors="replace"))
        return k
    if c >= 0x80:
        it._text(bytes((c,)).decode("cp437"))
        return 1
    if c >= 0x20:
        j = i
        while j < len(b) and 0x20 <= b[j] < 0x7F:
            j += 1
        it._text(bytes(b[i:j]).decode("ascii"))
        return j - i
    return 1


_BY_FIRST_BYTE: dict[int, Handler] = {
    0x0A: _newline, 0x0D: _skip(1), 0x00: _skip(1), 0x09: _tab, 0x10: _dle,
    0x1B: _prefixed(ESC), 0x1C: _prefixed(FS), 0x1D: _prefixed(GS),
}


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
