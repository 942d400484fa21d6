"""A screen that reads view-model properties all day must not bring the
process down: PySide6 6.12 loses a reference to True and None per property
QML reads, and on Python 3.11 that ends in "Fatal Python error: bool_dealloc"
after enough reads (the UI soak died so after ~140 sessions)."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.qt


def test_qml_property_reads_cannot_wear_out_true_and_none(qtbot, tmp_path):
    from PySide6.QtCore import Property, QCoreApplication, QObject, QUrl, Signal
    from PySide6.QtQuick import QQuickView

    from ui.refcounts import RESERVE, pin_singletons

    class Model(QObject):
        changed = Signal()

        def __init__(self):
            super().__init__()
            self.value = 0

        number = Property(int, lambda self: self.value, notify=changed)

    pin_singletons()  # what build_ui does before any screen loads
    model = Model()
    qml = tmp_path / "reads.qml"
    qml.write_text("import QtQuick\nItem { property int shown: model.number }\n", "utf-8")
    view = QQuickView()
    view.rootContext().setContextProperty("model", model)
    view.setSource(QUrl.fromLocalFile(str(qml)))
    for i in range(1, 2001):
        model.value = i
        model.changed.emit()
        QCoreApplication.processEvents()
    assert view.rootObject().property("shown") == 2000
    # however many reads a year brings, these stay far from zero
    assert sys.getrefcount(True) > RESERVE // 2 and sys.getrefcount(None) > RESERVE // 2
    view.deleteLater()
