"""The screen audit (ui/audit.py, ui/audit_matrix.py).

First the checks themselves bite: a small QML screen with one of each fault
a resident would notice (texts on top of each other, a clipped line, small
text, a small button, grey on grey, English on a Chinese screen, a hex code,
a touch area without a name) gets exactly those findings, and its clean twin
none.  Then the reduced matrix: shipped scripts played through the real
screen, each step they reach rendered once at a size / language / mode that
turns from step to step, plus the attract screen and every catalog tab at
each size; every rendering must pass.  `make audit` runs the full matrix
(every shipped script, 4 sizes x zh/en x standard/elderly)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt

FAULTY = """
import QtQuick
Rectangle {
    width: 800; height: 600; color: "#FFFFFF"
    Text { x: 10; y: 10; text: "第一行文字"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 20; y: 20; text: "第二行文字"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 100; width: 80; text: "很长的一行文字会被截断"; elide: Text.ElideRight
           font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 160; text: "小字"; font.pixelSize: 14; Accessible.name: text }
    Text { x: 10; y: 220; text: "浅灰色"; color: "#DDDDDD"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 280; text: "请按 Confirm"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 340; text: "错误 0x6A82"; font.pixelSize: 30; Accessible.name: text }
    Rectangle { x: 400; y: 10; width: 40; height: 40; color: "#1A1A1A"
                MouseArea { anchors.fill: parent } }
}
"""

CLEAN = """
import QtQuick
Rectangle {
    width: 800; height: 600; color: "#FFFFFF"
    Text { x: 10; y: 10; text: "第一行文字"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 100; width: 80; text: "很长的一行文字"; elide: Text.ElideRight
           property string audit: "elide"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 280; text: "请按确认"; font.pixelSize: 30; Accessible.name: text }
    Text { x: 10; y: 340; text: "English"; property string audit: "bilingual"; font.pixelSize: 30
           Accessible.name: text }
    Rectangle { x: 400; y: 10; width: 120; height: 80; color: "#1A1A1A"
                Accessible.role: Accessible.Button; Accessible.name: "确认"
                MouseArea { anchors.fill: parent } }
}
"""


def render(qtbot, tmp_path, source: str):
    from PySide6.QtCore import QUrl
    from PySide6.QtQuick import QQuickView

    path = tmp_path / "screen.qml"
    path.write_text(source, "utf-8")
    view = QQuickView()
    view.setSource(QUrl.fromLocalFile(str(path)))
    assert view.status() == QQuickView.Ready, [e.toString() for e in view.errors()]
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_audit_finds_what_a_resident_would_notice(qtbot, tmp_path):
    from ui.audit import audit_view

    view = render(qtbot, tmp_path, FAULTY)
    try:
        found = audit_view(view, elderly=False, lang="zh")
    finally:
        view.close()
    text = "\n".join(found)
    for expected in ("overlap: «第一行文字» and «第二行文字»", "clipped: «很长的一行文字会被截断»",
                     "small text: «小字» is 14 px", "contrast: «浅灰色»", "English on a Chinese screen: «请按 Confirm»",
                     "technician text: «错误 0x6A82» (0x6A82)", "small target:", "no accessible name: touch area"):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert len(found) == 8, text


def test_a_clean_screen_passes_with_its_designed_exceptions(qtbot, tmp_path):
    from ui.audit import audit_view

    view = render(qtbot, tmp_path, CLEAN)
    try:
        assert audit_view(view, elderly=False, lang="zh") == []
        # the same screen in elderly mode: 30 px text and an 80 px button are too small there
        elderly = "\n".join(audit_view(view, elderly=True, lang="zh"))
        assert "small text" in elderly and "small target" in elderly
    finally:
        view.close()
