"""QR codes read by the camera: a code rendered with ``qrcode`` into a 1280x720
frame, decoded directly and through the camera simulator's frames."""

from urllib.parse import quote

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
qrcode = pytest.importorskip("qrcode")

from devices.base import DeviceState, DeviceTimeout  # noqa: E402
from devices.camera.simulator import CameraSimulator  # noqa: E402
from devices.scanner.camera_scan import CameraScanner, camera_source, decode_frame  # noqa: E402

PAYLOAD = "https://gov.example/rc?v=1&n=8f3a2c&sig=Zm9vYmFy"


def qr_frame(payload: str = PAYLOAD, size: int = 1280, height: int = 720) -> np.ndarray:
    """A phone-screen QR on a grey background, as the camera would see it."""
    img = qrcode.make(payload, box_size=8, border=4).convert("L")
    code = np.array(img, dtype=np.uint8)
    frame = np.full((height, size, 3), 128, dtype=np.uint8)
    h, w = code.shape
    y, x = (height - h) // 2, (size - w) // 2
    frame[y:y + h, x:x + w] = code[:, :, None]
    return frame


def test_decodes_a_qr_in_a_720p_frame():
    [scan] = decode_frame(cv2.QRCodeDetector(), qr_frame())
    assert scan.as_dict() == {"text": PAYLOAD, "symbology": "qr"}


def test_frame_without_a_code_is_nothing():
    assert decode_frame(cv2.QRCodeDetector(), np.full((720, 1280, 3), 128, np.uint8)) == []


def test_camera_url_forms():
    assert camera_source("camera:///dev/video0?width=1280&height=720") == "v4l2:///dev/video0?width=1280&height=720"
    assert camera_source("camera://0") == "v4l2://0"
    assert camera_source("camera://?source=" + quote("file:///tmp/f/?fps=10")) == "file:///tmp/f/?fps=10"


@pytest.fixture
def camera_sim(tmp_path):
    sim = CameraSimulator(tmp_path / "frames", fps=10, scene=np.full((720, 1280, 3), 128, np.uint8))
    yield sim
    sim.stop()


def test_camera_scanner_reads_the_code_shown(camera_sim):
    url = "camera://?source=" + quote(camera_sim.url) + "&repeat_window_s=30"
    dev = CameraScanner("scanner", url, {}).open()
    try:
        st = dev.status()
        assert st.device is DeviceState.ONLINE and st.detail["transport"] == "camera"
        with pytest.raises(DeviceTimeout):
            dev.read_code(timeout=0.5)  # nothing shown yet
        camera_sim.show(qr_frame())
        assert dev.read_code(timeout=10).as_dict() == {"text": PAYLOAD, "symbology": "qr"}
        with pytest.raises(DeviceTimeout):
            dev.read_code(timeout=0.5)  # the same code still shown is the same scan
    finally:
        dev.close()
