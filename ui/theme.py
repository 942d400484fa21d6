"""The kiosk's look: colours, type sizes and touch-target sizes.

Plain data first (``palette``, ``metrics``, ``contrast``) so the numbers can be
checked without Qt; ``Theme`` exposes them to QML and switches between the
standard and the elderly (长辈版) variant.

Sizes are in device pixels.  A point is 1/72 inch and the panels run at 96 dpi,
so 30 pt = 40 px: the elderly body text is 40 px.
"""

from __future__ import annotations

FONT_FAMILY = "WenQuanYi Micro Hei"
PX_PER_PT = 96 / 72

# Text/background pairs that appear on screen; each must reach WCAG AA (4.5:1).
TEXT_PAIRS = (
    ("text", "background"),
    ("text", "surface"),
    ("muted", "surface"),
    ("muted", "background"),
    ("onPrimary", "primary"),
    ("onAccent", "accent"),
    ("onHeader", "header"),
    ("danger", "surface"),
    ("success", "surface"),
    ("warning", "surface"),
    ("onDanger", "danger"),
    ("onSuccess", "success"),
    ("disabledText", "disabled"),
    ("link", "surface"),
    ("text", "keyFill"),
    ("primary", "background"),   # the attract clock, ticket numbers, "on behalf of"
)


def on_colour(fill: str) -> str:
    """Text colour for a branding fill: white when it reaches 4.5:1 there
    (the usual case), else black - a site's light accent (a bank's gold)
    still gets readable buttons."""
    return "#FFFFFF" if contrast("#FFFFFF", fill) >= 4.5 else "#000000"


def palette(elderly: bool = False, primary: str = "#B71C1C", accent: str = "#0D47A1") -> dict[str, str]:
    """Colours as #RRGGBB.  ``primary``/``accent`` come from config branding."""
    colours = {
        "background": "#EEF1F5",
        "surface": "#FFFFFF",
        "text": "#1A1A1A",
        "muted": "#4A5563",
        "border": "#B8C0CA",
        "primary": primary,
        "onPrimary": on_colour(primary),
        "accent": accent,
        "onAccent": on_colour(accent),
        "header": primary,
        "onHeader": on_colour(primary),
        "danger": "#B3261E",
        "onDanger": "#FFFFFF",
        "success": "#1B5E20",
        "onSuccess": "#FFFFFF",
        "warning": "#8A4B00",
        "disabled": "#D5DAE0",
        "disabledText": "#3D4550",
        "link": "#0B57D0",
        "keyFill": "#F7F9FB",
        "overlay": "#CC000000",
        "guide": "#34C759",
    }
    if elderly:
        # Stronger contrast for older eyes: pure black on white.
        colours.update({"background": "#FFFFFF", "text": "#000000", "muted": "#2B2B2B", "border": "#5F6670",
                        "keyFill": "#FFFFFF", "disabledText": "#202020"})
    return colours


def metrics(elderly: bool = False) -> dict[str, int]:
    if elderly:
        # every resident text is >= 40 px (30 pt) here, secondary lines too
        return {"body": 40, "small": 40, "title": 56, "huge": 88, "button": 104, "minTarget": 96,
                "spacing": 24, "radius": 14, "perPage": 4, "keyboardKey": 96}
    return {"body": 26, "small": 24, "title": 40, "huge": 72, "button": 80, "minTarget": 64,
            "spacing": 18, "radius": 12, "perPage": 9, "keyboardKey": 76}


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    h = h[-6:]  # #AARRGGBB -> RRGGBB
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio between two opaque colours."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


try:  # the Qt wrapper; the data above stays importable without PySide6
    from PySide6.QtCore import Property, QObject, Signal

    class Theme(QObject):
        changed = Signal()

        def __init__(self, primary: str = "#B71C1C", accent: str = "#0D47A1", parent=None):
            super().__init__(parent)
            self._primary, self._accent = primary, accent
            self._elderly = False
            self._colours = palette(False, primary, accent)
            self._metrics = metrics(False)

        def set_elderly(self, on: bool) -> None:
            if on != self._elderly:
                self._elderly = on
                self._colours = palette(on, self._primary, self._accent)
                self._metrics = metrics(on)
                self.changed.emit()

        def _c(name, changed=changed):  # noqa: N805 - builds properties in the class body
            return Property(str, lambda self: self._colours[name], notify=changed)

        def _m(name, changed=changed):  # noqa: N805
            return Property(int, lambda self: self._metrics[name], notify=changed)

        background = _c("background")
        surface = _c("surface")
        text = _c("text")
        muted = _c("muted")
        border = _c("border")
        primary = _c("primary")
        onPrimary = _c("onPrimary")
        accent = _c("accent")
        onAccent = _c("onAccent")
        header = _c("header")
        onHeader = _c("onHeader")
        danger = _c("danger")
        onDanger = _c("onDanger")
        success = _c("success")
        onSuccess = _c("onSuccess")
        warning = _c("warning")
        disabled = _c("disabled")
        disabledText = _c("disabledText")
        link = _c("link")
        keyFill = _c("keyFill")
        overlay = _c("overlay")
        guide = _c("guide")

        body = _m("body")
        small = _m("small")
        title = _m("title")
        huge = _m("huge")
        button = _m("button")
        minTarget = _m("minTarget")
        spacing = _m("spacing")
        radius = _m("radius")
        perPage = _m("perPage")
        keyboardKey = _m("keyboardKey")

        elderly = Property(bool, lambda self: self._elderly, notify=changed)
        font = Property(str, lambda self: FONT_FAMILY, constant=True)

        del _c, _m
except ImportError:  # pragma: no cover - core-only installations
    Theme = None  # type: ignore[assignment,misc]
