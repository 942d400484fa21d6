"""ESC/POS command encoder: pure bytes, no I/O.

python-escpos builds the commands that it gets right and that are tedious to
frame by hand: the GS ( k QR sequence (``Escpos.qr(native=True)``) and the
GS v 0 raster conversion (``EscposImage``).  Text and the simple one-line
commands are owned here because the library gets Chinese wrong for a hall
printer: its "magic" encoder switches to GB18030 only when a character falls in
U+4E00..U+9FA5 (so names with extension characters, or a line of full-width
punctuation, go out in a Western code page as "?"), and it never sends FS &,
so printers in single-byte mode print each GB18030 byte as a Latin glyph.  Its
``barcode()`` also prints to stdout and forces centre alignment, which breaks
the CLI's output and the layout, so GS k is framed here too.

Every method appends to the buffer and returns ``self`` so a layout reads as a
chain; ``bytes()`` gives the job.
"""

from __future__ import annotations

import unicodedata

from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.image import EscposImage
from escpos.printer import Dummy

ESC, GS, FS, DLE, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\n"

INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
ALIGN = {"left": 0, "center": 1, "right": 2}
QR_LEVELS = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}
# GS k function B codes (m, data length prefixed)
BARCODES = {"UPC-A": 65, "UPC-E": 66, "EAN13": 67, "EAN8": 68, "CODE39": 69, "ITF": 70, "CODABAR": 71,
            "CODE93": 72, "CODE128": 73}
# Epson "clear buffers" real-time command (DLE DC4 fn=8): drops data a printer
# kept after running out of paper so a reprinted job is not printed twice.
CLEAR_BUFFERS = DLE + b"\x14\x08\x01\x03\x14\x01\x06\x02\x08"

# paper width -> (characters per line in font A, printable dots)
WIDTHS = {58: (32, 384), 80: (48, 576)}


def cell_width(ch: str) -> int:
    """Columns a character takes in font A: CJK and full-width forms take two."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(s: str) -> int:
    return sum(cell_width(c) for c in s)


class Encoder:
    """Builds one ESC/POS job."""

    def __init__(self, paper_mm: int = 80):
        if paper_mm not in WIDTHS:
            raise ValueError(f"paper width must be 58 or 80 mm, got {paper_mm}")
        self.paper_mm = paper_mm
        self.columns, self.dots = WIDTHS[paper_mm]
        self._buf = bytearray()
        self._chinese = False
        self._lib = Dummy()  # python-escpos writer for QR and raster framing

    # --- basics ------------------------------------------------------------
    def raw(self, data: bytes) -> Encoder:
        self._buf += data
        return self

    def init(self) -> Encoder:
        # ESC @ resets the printer, including Chinese mode
        self._chinese = False
        return self.raw(INIT)

    def align(self, where: str = "left") -> Encoder:
        return self.raw(ESC + b"a" + bytes((ALIGN[where],)))

    def size(self, width: int = 1, height: int = 1) -> Encoder:
        """GS ! n: character magnification 1..8 in each direction."""
        if not (1 <= width <= 8 and 1 <= height <= 8):
            raise ValueError("character size must be 1-8")
        return self.raw(GS + b"!" + bytes((((width - 1) << 4) | (height - 1),)))

    def bold(self, on: bool = True) -> Encoder:
        return self.raw(ESC + b"E" + (b"\x01" if on else b"\x00"))

    def chinese(self, on: bool = True) -> Encoder:
        self._chinese = on
        return self.raw(CHINESE_ON if on else CHINESE_OFF)

    def text(self, s: str) -> Encoder:
        """Text in GB18030; Chinese mode is switched on before the first
        non-ASCII character (ASCII bytes mean the same in both modes)."""
        if not s:
            return self
        if not s.isascii() and not self._chinese:
            self.chinese(True)
        return self.raw(s.encode("gb18030") if self._chinese else s.encode("ascii"))

    def line(self, s: str = "") -> Encoder:
        return self.text(s).raw(LF)

    def feed(self, lines: int = 1) -> Encoder:
        """ESC d n: print the buffer and feed n lines."""
        return self.raw(ESC + b"d" + bytes((max(0, min(lines, 255)),)))

    def cut(self, partial: bool = False, feed_dots: int = 0) -> Encoder:
        """GS V: full (m=0/65) or partial (m=1/66) cut, optionally after feeding."""
        if feed_dots:
            return self.raw(GS + b"V" + bytes((66 if partial else 65, min(feed_dots, 255))))
        return self.raw(GS + b"V" + (b"\x01" if partial else b"\x00"))

    # --- codes and images --------------------------------------------------------
    def qr(self, data: str, module: int = 6, level: str = "M", model: int = 2) -> Encoder:
        """GS ( k: select model, module size, error level, store, print."""
        self._lib.clear()
        self._lib.qr(data, ec=QR_LEVELS[level], size=module, model=model, native=True)
        return self.raw(self._lib.output)

    def barcode(self, data: str, kind: str = "CODE128", height: int = 60, module: int = 2,
                hri: str = "below") -> Encoder:
        """GS k (function B, length-prefixed).  CODE128 data gets code set B
        (``{B``) unless it already names a code set."""
        m = BARCODES[kind]
        payload = data.encode("ascii")
        if kind == "CODE128" and not payload.startswith(b"{"):
            payload = b"{B" + payload
        if not 1 <= len(payload) <= 255:
            raise ValueError("barcode data must be 1-255 bytes")
        hri_pos = {"none": 0, "above": 1, "below": 2, "both": 3}[hri]
        return self.raw(GS + b"h" + bytes((height,)) + GS + b"w" + bytes((module,))
                        + GS + b"H" + bytes((hri_pos,)) + GS + b"k" + bytes((m, len(payload))) + payload)

    def image(self, img) -> Encoder:
        """GS v 0 raster bit image (PIL image or path), scaled down to the
        printable width; alignment applies as for text."""
        from PIL import Image

        if not isinstance(img, Image.Image):
            img = Image.open(img)
        if img.width > self.dots:
            img = img.resize((self.dots, max(1, img.height * self.dots // img.width)))
        im = EscposImage(img)
        header = GS + b"v0\x00" + _le16(im.width_bytes) + _le16(im.height)
        return self.raw(header + im.to_raster_format())

    def bytes(self) -> bytes:
        return bytes(self._buf)


def _le16(n: int) -> bytes:
    return bytes((n & 0xFF, (n >> 8) & 0xFF))


def process_id_request(pid: bytes) -> bytes:
    """GS ( H fn=48: the printer answers 37 22 d1..d4 00 after printing all
    data received before it (Epson TM and compatibles)."""
    if len(pid) != 4 or not all(0x30 <= c <= 0x39 for c in pid):
        raise ValueError("process id is 4 digits")
    return GS + b"(H\x06\x00\x30\x30" + pid


def status_query(n: int) -> bytes:
    """DLE EOT n real-time status request (n = 1 printer, 2 offline cause,
    3 error cause, 4 paper)."""
    return DLE + b"\x04" + bytes((n,))
