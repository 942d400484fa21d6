"""The embedded CJK font for every document.

Documents embed a subset of a TrueType CJK font, so a certificate prints the
same on any printer and its text can be extracted (pdftotext, pypdf) for
offline verification.  Debian's fonts-wqy-microhei ships a TrueType
collection (.ttc); reportlab's ``TTFont`` reads one face of it with
``subfontIndex``.  Registration parses the 5 MB font once per process
(~0.2 s) and is cached; later documents only subset the glyphs they use.

``KIOSK_CJK_FONT`` may name another TrueType (glyf-outline) .ttf/.ttc file.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT = "KioskCJK"          # proportional face: body text, titles
FONT_MONO = "KioskCJKMono"  # monospaced face: serial numbers, amounts in tables

CANDIDATES = (
    # (path, face index of the proportional face, face index of the mono face)
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 1),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, 1),
)


class FontError(Exception):
    pass


@functools.lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register the CJK faces once; returns the font file used."""
    override = os.environ.get("KIOSK_CJK_FONT")
    candidates = [(override, 0, 0)] if override else list(CANDIDATES)
    problems = []
    for path, face, mono in candidates:
        if not Path(path).is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=face))
            pdfmetrics.registerFont(TTFont(FONT_MONO, path, subfontIndex=mono))
            return path
        except TTFError as exc:  # e.g. a CFF-outline OpenType collection reportlab cannot embed
            problems.append(f"{path}: {exc}")
    raise FontError(
        "no usable CJK TrueType font (install Debian package fonts-wqy-microhei or set KIOSK_CJK_FONT)"
        + (f"; tried {'; '.join(problems)}" if problems else "")
    )
