"""Live camera preview for QML without QtMultimedia.

``CameraFeed`` polls the camera driver's latest frame (``Camera.latest()``
returns ``(bgr ndarray, monotonic ts)``; capture runs on the driver's own
thread) at the display rate and converts only new frames to a QImage.
``CameraView`` is a QML item that paints the current image, mirrored like a
mirror so people can centre their face, and reports the displayed fps.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import Property, QObject, QRectF, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtQml import QmlElement
from PySide6.QtQuick import QQuickPaintedItem

QML_IMPORT_NAME = "Kiosk"
QML_IMPORT_MAJOR_VERSION = 1

POLL_MS = 15  # poll faster than the camera so a 30 fps source is shown at 30 fps


def frame_to_qimage(frame) -> QImage | None:
    """BGR (or grey) numpy frame -> QImage owning its bytes."""
    if frame is None or getattr(frame, "ndim", 0) not in (2, 3):
        return None
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        fmt, stride = QImage.Format_Grayscale8, w
    elif frame.shape[2] == 3:
        fmt, stride = QImage.Format_BGR888, 3 * w
    else:
        return None
    if not frame.flags["C_CONTIGUOUS"]:
        frame = frame.copy()
    return QImage(frame.data, w, h, stride, fmt).copy()


class CameraFeed(QObject):
    """One per app; views call ``acquire``/``release`` so polling runs only
    while a preview is on screen."""

    frameChanged = Signal()
    fpsChanged = Signal()

    def __init__(self, source: Callable[[], tuple | None], parent=None):
        super().__init__(parent)
        self._source = source
        self._image: QImage | None = None
        self._last_ts = None
        self._shown: deque[float] = deque(maxlen=60)
        self._users = 0
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    def set_source(self, source: Callable[[], tuple | None]) -> None:
        self._source = source

    def acquire(self) -> None:
        self._users += 1
        if not self._timer.isActive():
            self._timer.start()

    def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            self._timer.stop()
            self._image = None
            self._last_ts = None
            self._shown.clear()
            self.frameChanged.emit()

    def release_all(self) -> None:
        self._users = 1
        self.release()

    @Slot()
    def poll(self) -> bool:
        try:
            got = self._source() if self._source else None
        except Exception:
            got = None
        if not got:
            return False
        frame, ts = got[0], got[1]
        if ts == self._last_ts:
            return False
        image = frame_to_qimage(frame)
        if image is None:
            return False
        self._last_ts = ts
        self._image = image
        self._shown.append(time.monotonic())
        self.frameChanged.emit()
        self.fpsChanged.emit()
        return True

    def image(self) -> QImage | None:
        return self._image

    @Property(float, notify=fpsChanged)
    def fps(self) -> float:
        if len(self._shown) < 2:
            return 0.0
        span = self._shown[-1] - self._shown[0]
        return (len(self._shown) - 1) / span if span > 0 else 0.0

    @Property(bool, notify=frameChanged)
    def hasFrame(self) -> bool:
        return self._image is not None


@QmlElement
class CameraView(QQuickPaintedItem):
    feedChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._feed: CameraFeed | None = None
        self._mirror = True
        self.frames_painted = 0

    def _get_feed(self):
        return self._feed

    def _set_feed(self, feed) -> None:
        if feed is self._feed:
            return
        if self._feed is not None:
            self._feed.frameChanged.disconnect(self.update)
            self._feed.release()
        self._feed = feed
        if feed is not None:
            feed.frameChanged.connect(self.update)
            feed.acquire()
        self.feedChanged.emit()

    feed = Property(QObject, _get_feed, _set_feed, notify=feedChanged)

    def releaseResources(self) -> None:  # noqa: N802 - Qt override
        self._set_feed(None)
        super().releaseResources()

    def paint(self, painter: QPainter) -> None:
        image = self._feed.image() if self._feed is not None else None
        if image is None:
            painter.fillRect(QRectF(0, 0, self.width(), self.height()), 0x202020)
            return
        # cover the item, centred (like a phone camera preview)
        scale = max(self.width() / image.width(), self.height() / image.height())
        w, h = image.width() * scale, image.height() * scale
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        if self._mirror:
            painter.setTransform(QTransform(-1, 0, 0, 1, self.width(), 0))
        painter.drawImage(target, image)
        self.frames_painted += 1
