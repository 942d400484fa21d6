"""The screen audit: what a resident would notice on one rendered screen.

``audit_screen(ui)`` walks the QML item tree of the window as it is now
(texts' mapped geometry, font pixel size, truncation, visibility and opacity,
accessible names) and samples the rendered image behind every text for its
contrast.  It returns findings, one line each; an empty list is a pass.

Designed exceptions are marked in the QML, never listed here: a text item (or
the component holding it, up to two levels) declaring
``property string audit: "elide"`` may be elided (a long free-text value in a
fixed box), ``"data"`` holds sample data or names in whatever language they
are (a company name on an English screen), ``"bilingual"`` is the other
language on purpose (the language button, "touch to start" in both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import QRectF
from PySide6.QtGui import QAccessible, QColor

from .theme import contrast

TEXT_CLASSES = ("QQuickText", "QQuickTextInput", "QQuickTextEdit")
MIN_TEXT = {False: 24, True: 40}       # px, standard / elderly
MIN_TARGET = {False: 60, True: 88}     # px, the shorter side of a touch area
MIN_CONTRAST = 4.5
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MASKED_NAME = re.compile(r"[\u3400-\u9fff]+\*+")   # 欧** - a masked name, the same in every language
# Words that may stand in a Chinese sentence: units, document and payment
# terms residents know in Latin letters.
ZH_LATIN_OK = {"QR", "PDF", "A4", "ID", "CTID", "App", "APP", "WiFi", "POS", "PIN", "SMS", "km", "kg", "cm", "mm",
               "AM", "PM", "No", "VIP", "ETC", "EMS"}
TECH_WORDS = re.compile(
    r"0x[0-9A-Fa-f]+|#[0-9A-Fa-f]{6}\b|\b(?:Traceback|Exception|errno|None|null|undefined|NaN|True|False|"
    r"sim://|https?://|escpos|ESC/POS|PC/SC|SAM_V|ipp|cups|pcscd|dlib|encoder|numpy|json|JSON|HTTP|"
    r"timeout|stack|QQuick\w*)\b|\b[a-z]+_[a-z_]+\b|\b(?:ui|flows|kiosk)\.[a-z_.]+|\{[a-z_]+\}|纸卷|端口|驱动")


@dataclass
class Text:
    item: object
    text: str
    rect: QRectF          # the painted text in window coordinates
    box: QRectF           # the item itself in window coordinates
    pixel_size: int
    colour: QColor
    opacity: float
    marks: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        label = self.text.replace("\n", " ")
        return f"{self.item.objectName() or ''}«{label[:24]}»"


def _marks(item) -> set[str]:
    found: set[str] = set()
    node = item
    for _ in range(3):
        if node is None:
            break
        mark = node.property("audit")
        if isinstance(mark, str) and mark:
            found.update(mark.split())
        node = node.parentItem()
    return found


def _read(item, expression: str):
    """A QML expression in the item's own scope (enum-typed properties
    have no Python converter)."""
    from PySide6.QtQml import QQmlEngine, QQmlExpression

    value, _failed = QQmlExpression(QQmlEngine.contextForObject(item), item, expression).evaluate()
    return value.toVariant() if hasattr(value, "toVariant") else value


def _painted(item, kind: str) -> QRectF:
    """The rectangle the glyphs cover, in the item's own coordinates."""
    w, h = float(item.width()), float(item.height())
    if kind != "QQuickText":
        return QRectF(0, 0, min(w, float(item.property("contentWidth") or w)) or w, h)
    ha, va, cw, ch = _read(item, "[effectiveHorizontalAlignment, verticalAlignment, contentWidth, contentHeight]")
    ha, va, cw, ch = int(ha), int(va), float(cw), float(ch)
    x = (w - cw) / 2 if ha & 4 else (w - cw) if ha & 2 else 0.0
    y = (h - ch) / 2 if va & 128 else (h - ch) if va & 64 else 0.0
    return QRectF(x, y, cw, ch)


def _scene_rect(item, rect: QRectF) -> QRectF:
    top_left = item.mapToScene(rect.topLeft())
    return QRectF(top_left, rect.size())


def _inside_scroller(item) -> bool:
    node = item.parentItem()
    while node is not None:
        if node.metaObject().className().startswith(("QQuickFlickable", "QQuickListView", "QQuickGridView")):
            return True
        node = node.parentItem()
    return False


def _clip_rect(item) -> QRectF | None:
    """The visible part of the window an ancestor with ``clip`` leaves the item."""
    shown = None
    node = item.parentItem()
    while node is not None:
        if node.property("clip"):
            r = _scene_rect(node, QRectF(0, 0, node.width(), node.height()))
            shown = r if shown is None else shown.intersected(r)
        node = node.parentItem()
    return shown


class Walk:
    """Visible texts and touch areas of the window, in paint order."""

    def __init__(self, root):
        self.texts: list[Text] = []
        self.areas: list[tuple[object, QRectF]] = []
        self.inputs: list[object] = []
        self._visit(root, 1.0)

    def _visit(self, item, opacity: float) -> None:
        if not item.isVisible() or item.opacity() <= 0.01:
            return
        opacity *= item.opacity()
        kind = _base_class(item)
        if item.objectName() == "techCorner":
            return
        if kind.startswith(TEXT_CLASSES) and item.width() > 0:
            text = str(item.property("text") or "").strip()
            clip = _clip_rect(item)
            if text and (clip is None or clip.intersects(_scene_rect(item, _painted(item, kind)))):
                font = item.property("font")
                colour = QColor(item.property("color"))
                self.texts.append(Text(item, text, _scene_rect(item, _painted(item, kind)),
                                       _scene_rect(item, QRectF(0, 0, item.width(), item.height())),
                                       font.pixelSize() if font is not None else 0, colour,
                                       opacity * colour.alphaF(), _marks(item)))
            if kind != "QQuickText":
                self.inputs.append(item)
        elif kind.startswith("QQuickMouseArea") and item.isEnabled():
            self.areas.append((item, _scene_rect(item, QRectF(0, 0, item.width(), item.height()))))
        for child in sorted(item.childItems(), key=lambda c: c.z()):
            self._visit(child, opacity)


def _base_class(item) -> str:
    """The Qt Quick class an item is (a QML component such as KText is a
    QQuickText underneath)."""
    meta = item.metaObject()
    while meta is not None and "_QML" in meta.className():
        meta = meta.superClass()
    return meta.className() if meta is not None else ""


def _named(item) -> bool:
    iface = QAccessible.queryAccessibleInterface(item)
    return iface is not None and bool(iface.text(QAccessible.Name).strip())


def _area_name(item) -> str:
    node = item
    while node is not None and not node.objectName():
        node = node.parentItem()
    return node.objectName() if node is not None else type(item).__name__


def check_geometry(walk: Walk, window: QRectF) -> list[str]:
    out = []
    texts = walk.texts
    for t in texts:
        designed = "elide" in t.marks
        if t.item.property("truncated") and not designed:
            out.append(f"clipped: {t.name} is elided or cut to its line limit")
        if not window.adjusted(-1, -1, 1, 1).contains(t.rect):
            out.append(f"clipped: {t.name} leaves the window")
            continue
        clip = _clip_rect(t.item)
        if clip is not None and not _inside_scroller(t.item) and not designed and \
                not clip.adjusted(-1, -1, 1, 1).contains(t.rect):
            out.append(f"clipped: {t.name} is cut by its container")
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if _meets(a.rect, b.rect):
                out.append(f"overlap: {a.name} and {b.name}")
    # a text under another control's touch area (a button drawn over words);
    # areas filling most of the window (the idle overlay, "touch to start") aside
    big = window.width() * window.height() * 0.4
    for area, rect in walk.areas:
        if rect.width() * rect.height() >= big:
            continue
        owner = area.parentItem()
        clip = _clip_rect(area)   # a field scrolled out of its list is not there to cover anything
        shown = rect if clip is None else rect.intersected(clip)
        for t in texts:
            if _meets(t.rect, shown) and not _within(t.item, owner):
                out.append(f"covered: {t.name} under {_area_name(area)}")
    return out


def _meets(a: QRectF, b: QRectF) -> bool:
    common = a.intersected(b)
    return common.width() > 2 and common.height() > 2


def _within(item, ancestor) -> bool:
    node = item
    while node is not None:
        if node is ancestor:
            return True
        node = node.parentItem()
    return False


def check_sizes(walk: Walk, elderly: bool) -> list[str]:
    out = []
    for t in walk.texts:
        if "decor" not in t.marks and 0 < t.pixel_size < MIN_TEXT[elderly]:
            out.append(f"small text: {t.name} is {t.pixel_size} px (< {MIN_TEXT[elderly]})")
    for area, rect in walk.areas:
        side = min(rect.width(), rect.height())
        if side < MIN_TARGET[elderly]:
            out.append(f"small target: {_area_name(area)} is {rect.width():.0f}x{rect.height():.0f} px "
                       f"(< {MIN_TARGET[elderly]})")
    return out


def check_names(walk: Walk) -> list[str]:
    QAccessible.setActive(True)
    out = []
    for area, _rect in walk.areas:
        parent = area.parentItem()
        if not (_named(area) or (parent is not None and _named(parent))):
            out.append(f"no accessible name: touch area in {_area_name(area)}")
    for item in walk.inputs:
        if not _named(item) and not (item.parentItem() is not None and _named(item.parentItem())):
            out.append(f"no accessible name: input {_area_name(item)}")
    return out


def check_language(walk: Walk, lang: str) -> list[str]:
    out = []
    for t in walk.texts:
        if {"data", "bilingual"} & t.marks:
            continue
        if lang == "zh":   # (an example in quotes, “wfzm”, is what to type)
            for word in re.findall(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*", re.sub(r"“[^”]*”", "", t.text)):
                if len(word) >= 2 and not any(c.isdigit() for c in word) and word not in ZH_LATIN_OK:
                    out.append(f"English on a Chinese screen: {t.name} ({word})")
                    break
        elif CJK.search(MASKED_NAME.sub("", t.text)):
            out.append(f"Chinese on an English screen: {t.name}")
        hit = TECH_WORDS.search(t.text)
        if hit:
            out.append(f"technician text: {t.name} ({hit.group(0)})")
    return out


def _rgb(colour: QColor) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


def _hex(rgb) -> str:
    r, g, b = rgb
    return f"#{r:02X}{g:02X}{b:02X}"


def background_of(image, rect: QRectF, fg: tuple[int, int, int]) -> tuple[int, int, int]:
    """The dominant rendered colour inside ``rect`` that is not the text's own."""
    x0, y0 = max(0, int(rect.left())), max(0, int(rect.top()))
    x1, y1 = min(image.width() - 1, int(rect.right())), min(image.height() - 1, int(rect.bottom()))
    if x1 <= x0 or y1 <= y0:
        return fg
    step_x, step_y = max(1, (x1 - x0) // 40), max(1, (y1 - y0) // 12)
    counts: dict[tuple[int, int, int], int] = {}
    total = 0
    for y in range(y0, y1 + 1, step_y):
        for x in range(x0, x1 + 1, step_x):
            c = image.pixelColor(x, y)
            rgb = (c.red() >> 3 << 3, c.green() >> 3 << 3, c.blue() >> 3 << 3)
            total += 1
            if sum(abs(a - b) for a, b in zip(rgb, fg)) > 24:
                counts[rgb] = counts.get(rgb, 0) + 1
    if not counts or sum(counts.values()) < total * 0.15:
        return fg                           # nothing but the text colour: the text is invisible
    return max(counts, key=counts.get)


def check_contrast(walk: Walk, image) -> list[str]:
    out = []
    for t in walk.texts:
        fg = _rgb(t.colour)
        bg = background_of(image, t.rect, fg)
        a = max(0.0, min(1.0, t.opacity))
        shown = tuple(round(f * a + b * (1 - a)) for f, b in zip(fg, bg))
        ratio = contrast(_hex(shown), _hex(bg))
        if ratio < MIN_CONTRAST:
            out.append(f"contrast: {t.name} {_hex(shown)} on {_hex(bg)} is {ratio:.1f}:1")
    return out


def audit_view(view, elderly: bool, lang: str) -> list[str]:
    """Every finding on a QQuickView's window as it is drawn now."""
    window = QRectF(0, 0, view.width(), view.height())
    walk = Walk(view.rootObject())
    image = view.grabWindow()
    findings = (check_geometry(walk, window) + check_sizes(walk, elderly) + check_names(walk)
                + check_language(walk, lang) + check_contrast(walk, image))
    return list(dict.fromkeys(findings))


def audit_screen(ui) -> list[str]:
    """Every finding on the kiosk's window in its current language and mode."""
    return audit_view(ui.view, bool(ui.vm.elderly), ui.vm.lang)


def images_loaded(ui) -> bool:
    """No visible image on ``ui``'s screen is still loading (a rendering
    taken before that shows empty frames)."""
    from PySide6.QtQml import QQmlEngine, QQmlExpression

    stack = [ui.view.rootObject()]
    while stack:
        item = stack.pop()
        if item.isVisible() and item.metaObject().className().startswith("QQuickImage"):
            loading = QQmlExpression(QQmlEngine.contextForObject(item), item, "status === Image.Loading")
            if loading.evaluate()[0]:
                return False
        stack.extend(item.childItems())
    return True
