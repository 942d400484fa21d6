"""QR codes read by a camera (OpenCV's QRCodeDetector), for terminals
without a scanner.

URLs: ``camera:///dev/video0`` (V4L2 path), ``camera://0`` (index), or
``camera://?source=<camera URL>`` for any URL the camera driver takes
(``file:///folder/`` is what the camera simulator serves).  Camera query
parameters (width, height, fps) pass through.  Frames stay in memory.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from devices.base import DeviceError, DeviceState, DeviceStatus

from .driver import ScannerDevice
from .protocol import Scan, text_to_scan

SCANNER_KEYS = ("repeat_window_s", "partial_timeout_s", "aim", "source")


def camera_source(url: str) -> str:
    """The camera driver URL behind a ``camera://`` URL; ValueError if none."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if params.get("source"):
        return params["source"]
    target = unquote(parts.netloc + parts.path)
    if not target:
        raise ValueError("no camera (e.g. camera:///dev/video0 or camera://?source=file:///frames/)")
    rest = {k: v for k, v in params.items() if k not in SCANNER_KEYS}
    return f"v4l2://{target}" + (f"?{urlencode(rest)}" if rest else "")


class CameraScanner(ScannerDevice):
    schemes = ("camera",)
    transport = "camera"

    def _configure(self) -> str:
        self.source = camera_source(self.url)
        self._camera = None
        self._detector = None
        self._seen = 0.0
        return ""

    def _open(self) -> None:
        if self._url_problem:
            raise DeviceError("scanner.bad_url", DeviceState.NO_DEVICE, url=self.url, reason=self._url_problem)
        try:
            import cv2

            from devices.camera.driver import Camera
        except ImportError:
            raise DeviceError("scanner.opencv_missing", DeviceState.NO_DEVICE) from None
        self._close()
        self._detector = cv2.QRCodeDetector()
        cam_options = {k: v for k, v in self.options.items() if k.startswith(("frozen_", "dark_", "open_wait"))}
        self._camera = Camera(f"{self.name}-camera", self.source, cam_options).open()

    def _close(self) -> None:
        cam, self._camera = getattr(self, "_camera", None), None
        if cam is not None:
            cam.close()

    def _probe(self) -> DeviceStatus:
        if self._camera is None:
            try:
                self._open()
            except DeviceError as exc:
                return DeviceStatus(exc.state, message=exc.text, last_error=str(exc))
        st = self._camera.refresh_status()  # type: ignore[union-attr]
        if st.device is DeviceState.ONLINE:
            return self._ready_status(camera=self.source)
        return st

    def _begin(self) -> None:
        if self._camera is None:
            self._open()
        got = self._camera.latest()  # type: ignore[union-attr]
        self._seen = got[1] if got else 0.0  # only frames taken after the read began

    def _poll(self, wait: float) -> list[Scan]:
        got = self._camera.wait_frame(newer_than=self._seen, timeout=wait)  # type: ignore[union-attr]
        if got is None:
            return []
        frame, self._seen = got
        return decode_frame(self._detector, frame, self.aim, self._seen)


def decode_frame(detector, frame, aim: bool = False, at: float = 0.0) -> list[Scan]:
    """The QR code in one BGR frame, if any (a frame without one is no error)."""
    try:
        payload, _points, _ = detector.detectAndDecode(frame)
    except Exception:  # OpenCV raises cv2.error on odd frames: no code in it
        return []
    if not payload:
        return []
    return [_qr(payload, at)]


def _qr(payload: str, at: float) -> Scan:
    scan = text_to_scan(payload, aim=False, at=at)
    return Scan(scan.text, "qr", scan.at)
