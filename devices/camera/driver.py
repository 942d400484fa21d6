"""Camera driver: OpenCV capture by URL, the newest frame always at hand.

URLs:
  ``v4l2:///dev/video0`` or ``v4l2://0`` (index)  a V4L2 camera; query
      ``width``, ``height``, ``fps`` (defaults 1280x720 at 30), ``fourcc`` (MJPG)
  ``file:///path/video.mp4``  a video, looped (``loop=0``: play once), paced at its fps
  ``file:///path/dir/``       the images in a folder, in name order, looped and
      paced at ``fps`` (default 25); the folder is re-read when it changes, so
      the simulator can switch what the camera "sees" by replacing its files.

A capture thread reads continuously and keeps only the newest frame, so a
slow consumer (verification, ~100 ms) never makes frames queue up and the
preview (UI) always gets the current picture. V4L2 is asked for a one-frame
buffer for the same reason. Frames are read-only numpy arrays in memory;
nothing is ever written.

A monitor thread keeps the device status current: ``noDevice`` (cannot
open), ``hardwareError`` (no new frame for ``frozen_after_s``), ``userError``
(too dark: lens covered or lights off), else ``online`` with fps, resolution
and brightness in the detail.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import cv2
import numpy as np

from devices.base import Device, DeviceError, DeviceState, DeviceStatus
from kiosk.core.i18n import text

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def parse_camera_url(url: str) -> tuple[str, str, dict]:
    """(scheme, source, params). ``source`` is a device path, an index or a file path.

    The generic parse_url lowercases the host, which would break relative
    file names such as ``file://Video.mp4``, so the netloc is kept as written.
    """
    parts = urlsplit(url)
    if parts.scheme not in Camera.schemes:
        raise DeviceError("camera.bad_url", DeviceState.NO_DEVICE, url=url)
    source = unquote(parts.netloc + parts.path)
    if not source:
        raise DeviceError("camera.bad_url", DeviceState.NO_DEVICE, url=url)
    return parts.scheme, source, dict(parse_qsl(parts.query))


def brightness(frame: np.ndarray) -> float:
    """Mean grey level (0-255) on a small copy: cheap enough for every status check."""
    small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return float(small.mean())


class _Source:
    fps: float | None = None  # pacing for files; None = the device paces itself
    lost = False  # the device or folder went away: reopen (status noDevice meanwhile)

    def open(self) -> bool:
        raise NotImplementedError

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _CaptureSource(_Source):
    """cv2.VideoCapture on a V4L2 device or a video file."""

    def __init__(self, target, params: dict, is_file: bool):
        self.target = target
        self.params = params
        self.is_file = is_file
        self.loop = params.get("loop", "1") not in ("0", "false", "no")
        self.cap: cv2.VideoCapture | None = None
        self.fps = None

    def open(self) -> bool:
        self.lost = False
        if self.is_file:
            if not os.path.isfile(self.target):
                return False
            cap = cv2.VideoCapture(self.target)
        else:
            if isinstance(self.target, str) and not os.path.exists(self.target):
                return False
            cap = cv2.VideoCapture(self.target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            return False
        if self.is_file:
            native = cap.get(cv2.CAP_PROP_FPS) or 0.0
            self.fps = float(self.params.get("fps", native if 1 <= native <= 120 else 25.0))
        else:
            p = self.params
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*p.get("fourcc", "MJPG")[:4].ljust(4)))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(p.get("width", 1280)))
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(p.get("height", 720)))
            cap.set(cv2.CAP_PROP_FPS, float(p.get("fps", 30)))
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of old ones
        self.cap = cap
        return True

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            return None
        ok, frame = self.cap.read()
        if not ok and self.is_file and self.loop:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        return frame if ok else None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class _FolderSource(_Source):
    """Images of a folder in name order, looped; decoded images are cached
    by (name, mtime, size) so a looped folder costs no repeated decoding."""

    def __init__(self, folder: str, params: dict):
        self.folder = Path(folder)
        self.fps = float(params.get("fps", 25))
        self._stamp: tuple | None = None
        self._names: list[str] = []
        self._cache: dict[str, tuple[tuple, np.ndarray]] = {}
        self._index = 0

    def open(self) -> bool:
        self.lost = False
        self._stamp = None
        return self.folder.is_dir()

    def _rescan(self) -> None:
        try:
            st = os.stat(self.folder)
        except OSError:
            self._names = []
            self._stamp = None
            self.lost = True
            return
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.lower().endswith(IMAGE_SUFFIXES))
        except OSError:
            names = []
        if names != self._names:
            self._names = names
            self._index = 0
            self._cache = {n: v for n, v in self._cache.items() if n in names}

    def read(self) -> np.ndarray | None:
        self._rescan()
        for _ in range(len(self._names)):
            name = self._names[self._index % len(self._names)]
            self._index = (self._index + 1) % len(self._names)
            path = self.folder / name
            try:
                st = path.stat()
            except OSError:  # replaced while we looked: read the folder again next time
                self._stamp = None
                continue
            key = (st.st_mtime_ns, st.st_size)
            cached = self._cache.get(name)
            if cached is not None and cached[0] == key:
                return cached[1]
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                continue
            frame.flags.writeable = False
            self._cache[name] = (key, frame)
            return frame
        return None


class Camera(Device):
    family = "camera"
    schemes = ("v4l2", "file")
    default_timeout_s = 5.0

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        self.frozen_after_s = float(self.options.get("frozen_after_s", 2.0))
        self.dark_below = float(self.options.get("dark_below", 35.0))
        self.reopen_every_s = float(self.options.get("reopen_every_s", 2.0))
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float] | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=90)
        self._frames = 0
        self._opened_at: float | None = None
        self._source: _Source | None = None
        self._source_ok = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the frames ------------------------------------------------------
    def latest(self) -> tuple[np.ndarray, float] | None:
        """The newest frame (read-only BGR ndarray) and its ``time.monotonic()`` stamp."""
        with self._cond:
            return self._latest

    def wait_frame(self, newer_than: float | None = None, timeout: float = 1.0) -> tuple[np.ndarray, float] | None:
        """Block until a frame newer than ``newer_than`` arrives (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or (newer_than is not None and self._latest[1] <= newer_than):
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            return self._latest

    def fps(self) -> float:
        """Frames per second over the last ~2 seconds (0 when stalled)."""
        with self._cond:
            now = time.monotonic()
            recent = [t for t in self._times if now - t <= 2.0]
        if len(recent) < 2 or now - recent[-1] > self.frozen_after_s:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])

    @property
    def resolution(self) -> tuple[int, int] | None:
        got = self.latest()
        return (got[0].shape[1], got[0].shape[0]) if got else None

    @property
    def frame_count(self) -> int:
        return self._frames

    # --- lifecycle -------------------------------------------------------
    def _make_source(self) -> _Source:
        scheme, source, params = parse_camera_url(self.url)
        if scheme == "v4l2":
            return _CaptureSource(int(source) if source.isdigit() else source, params, is_file=False)
        if os.path.isdir(source) or source.endswith("/"):
            return _FolderSource(source, params)
        return _CaptureSource(source, params, is_file=True)

    def _open(self) -> None:
        self._source = self._make_source()
        self._stop.clear()
        self._opened_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._capture_loop, name=f"cam-{self.name}", daemon=True),
            threading.Thread(target=self._monitor_loop, name=f"cam-{self.name}-status", daemon=True),
        ]
        for t in self._threads:
            t.start()
        # give the source a moment so the first status is meaningful
        self.wait_frame(timeout=float(self.options.get("open_wait_s", 1.5)))

    def _close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=3)
        self._threads = []
        with self._cond:
            self._latest = None
            self._times.clear()

    def _capture_loop(self) -> None:
        src = self._source
        assert src is not None
        next_due = time.monotonic()
        misses = 0
        while not self._stop.is_set():
            if not self._source_ok:
                self._source_ok = src.open()
                if not self._source_ok:
                    self._stop.wait(self.reopen_every_s)
                    continue
                misses = 0
            if src.fps:
                now = time.monotonic()
                if next_due > now:
                    self._stop.wait(next_due - now)
                    if self._stop.is_set():
                        break
                # pace from the schedule, but never burst to catch up after a stall
                next_due = max(next_due + 1.0 / src.fps, time.monotonic())
            try:
                frame = src.read()
            except cv2.error as exc:
                log.warning("camera read failed", extra={"device": self.name, "reason": str(exc)})
                frame = None
            if frame is None:
                misses += 1
                if isinstance(src, _CaptureSource) and not src.is_file and misses >= 30:
                    src.lost = True  # unplugged? open again (the device path may come back)
                if src.lost:
                    src.close()
                    self._source_ok = False
                    continue
                self._stop.wait(0.02 if not src.fps else 0)
                continue
            misses = 0
            frame.flags.writeable = False  # shared with every consumer: nobody may draw on it
            ts = time.monotonic()
            with self._cond:
                self._latest = (frame, ts)
                self._frames += 1
                self._times.append(ts)
                self._cond.notify_all()
        src.close()
        self._source_ok = False

    def _monitor_loop(self) -> None:
        while not self._stop.wait(float(self.options.get("status_every_s", 0.5))):
            self._set_status(self._probe())

    def _probe(self) -> DeviceStatus:
        if self._source is None:
            return DeviceStatus(DeviceState.NO_DEVICE, message=text("device.state.noDevice", reason=""))
        scheme, source, _ = parse_camera_url(self.url)
        if not self._source_ok:
            msg = text("camera.no_device", source=source)
            return DeviceStatus(DeviceState.NO_DEVICE, message=msg, last_error=msg.en)
        got = self.latest()
        now = time.monotonic()
        since = now - (got[1] if got else (self._opened_at or now))
        if since >= self.frozen_after_s:
            msg = text("camera.frozen", seconds=f"{since:.0f}")
            return DeviceStatus(DeviceState.HARDWARE_ERROR, detail={"stream": "frozen"}, message=msg,
                                last_error=msg.en)
        frame = got[0]
        light = brightness(frame)
        # Detail holds only values that change with the state, so status
        # listeners are not woken every half second by a new fps figure;
        # live numbers are in describe().
        detail = {"resolution": f"{frame.shape[1]}x{frame.shape[0]}", "light": "ok"}
        if light < self.dark_below:
            detail["light"] = "dark"
            msg = text("camera.too_dark", brightness=f"{light:.0f}")
            return DeviceStatus(DeviceState.USER_ERROR, detail=detail, message=msg, last_error=msg.en)
        return DeviceStatus(DeviceState.ONLINE, detail=detail, message=text("camera.online"))

    def describe(self, refresh: bool = False) -> dict:
        out = super().describe(refresh)
        res = self.resolution
        got = self.latest()
        out.update({"fps": round(self.fps(), 1), "resolution": f"{res[0]}x{res[1]}" if res else None,
                    "brightness": round(brightness(got[0]), 1) if got else None})
        return out
