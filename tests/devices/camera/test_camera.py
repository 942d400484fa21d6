"""Camera driver against real sources: image folders, video files, the simulator."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from devices.base import DeviceState
from devices.camera.driver import Camera, parse_camera_url

# "frozen" after 3 s without a frame: short enough for quick tests, long enough
# that a busy machine's scheduling pauses never look like a frozen stream
FAST = {"frozen_after_s": 3.0, "status_every_s": 0.1, "open_wait_s": 3.0}


def wait_for(predicate, timeout=30.0):
    """Poll a condition up to a generous bound (not a speed check)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def colour_frames(n, size=(320, 240)):
    return [np.full((size[1], size[0], 3), (40 + 60 * i, 200 - 40 * i, 120), np.uint8) for i in range(n)]


@pytest.fixture
def camera():
    opened = []

    def make(url, **options):
        cam = Camera("camera", url, {**FAST, **options}).open()
        opened.append(cam)
        return cam

    yield make
    for cam in opened:
        cam.close()


def test_url_forms():
    assert parse_camera_url("v4l2:///dev/video0") == ("v4l2", "/dev/video0", {})
    assert parse_camera_url("v4l2://0?width=640") == ("v4l2", "0", {"width": "640"})
    assert parse_camera_url("file://Clip.mp4") == ("file", "Clip.mp4", {})  # case kept
    assert parse_camera_url("file:///srv/frames/?fps=10") == ("file", "/srv/frames/", {"fps": "10"})


def test_folder_of_images_loops(camera, tmp_path):
    for i, frame in enumerate(colour_frames(3)):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), frame)
    cam = camera(f"file://{tmp_path}/?fps=30")
    seen, last = set(), None
    for _ in range(12):
        got = cam.wait_frame(last, timeout=10)
        assert got is not None
        frame, last = got
        seen.add(int(frame[0, 0, 0]))
    assert seen == {40, 100, 160}  # every image, over and over
    assert cam.resolution == (320, 240)
    assert cam.status().device == DeviceState.ONLINE
    assert cam.fps() > 0
    frame = cam.latest()[0]
    with pytest.raises(ValueError):
        frame[0, 0] = 0  # shared with the preview and the verifier: read-only


def test_video_file_plays_then_freezes(camera, tmp_path):
    path = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (640, 480))
    for frame in colour_frames(3, (640, 480)) * 4:
        out.write(frame)
    out.release()
    cam = camera(f"file://{path}?loop=0")
    assert cam.latest() is not None and cam.resolution == (640, 480)
    # played once and stopped: the stream is frozen
    assert wait_for(lambda: cam.status().device == DeviceState.HARDWARE_ERROR)
    assert cam.status().detail == {"stream": "frozen"}
    assert cam.fps() == 0.0
    looped = camera(f"file://{path}")
    first = looped.frame_count
    assert wait_for(lambda: looped.frame_count > first + 15)  # more frames than the clip has
    assert looped.status().device == DeviceState.ONLINE


@pytest.mark.parametrize("url", ["v4l2:///dev/video99", "v4l2://97", "file:///nonexistent/clip.mp4"])
def test_no_camera(camera, url):
    cam = camera(url, open_wait_s=0.3)
    assert cam.status().device == DeviceState.NO_DEVICE
    assert cam.latest() is None
    assert "No camera found" in cam.status().message_en


def test_slow_consumer_always_gets_the_newest_frame(camera, tmp_path):
    for i, frame in enumerate(colour_frames(3)):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), frame)
    cam = camera(f"file://{tmp_path}/?fps=40")
    frame, ts = cam.wait_frame(timeout=10)
    count = cam.frame_count
    assert wait_for(lambda: cam.frame_count > count + 3)  # the consumer is busy meanwhile
    frame2, ts2 = cam.latest()
    assert ts2 > ts and cam.frame_count > count + 1  # frames were dropped, not queued
    nxt = cam.wait_frame(ts2, timeout=10)
    assert nxt is not None and nxt[1] > ts2


def test_simulator_through_the_device_manager(data_dir):
    from devices.manager import DeviceManager
    from kiosk.core.config import load_config

    config = load_config(overrides={"devices": {"camera": {"family": "camera", "url": "sim://",
                                                           "frozen_after_s": 3.0, "status_every_s": 0.1}}})
    with DeviceManager(config, only=["camera"]) as manager:
        cam, sim = manager.get("camera"), manager.simulators["camera"]
        assert isinstance(cam, Camera)
        assert wait_for(lambda: cam.status().device == DeviceState.ONLINE)
        assert cam.resolution == (1280, 720)
        before = cam.latest()[0].copy()
        sim.show("biden")
        assert wait_for(lambda: not np.array_equal(cam.latest()[0], before))
        sim.blank()
        assert wait_for(lambda: cam.status().device == DeviceState.USER_ERROR)
        assert cam.status().detail["light"] == "dark"
        sim.show("two_people")
        assert wait_for(lambda: cam.status().device == DeviceState.ONLINE)
        sim.freeze()
        assert wait_for(lambda: cam.status().device == DeviceState.HARDWARE_ERROR)
        sim.resume()
        assert wait_for(lambda: cam.status().device == DeviceState.ONLINE)
        sim.unplug()
        assert wait_for(lambda: cam.status().device == DeviceState.NO_DEVICE)
        sim.plug()
        assert wait_for(lambda: cam.status().device == DeviceState.ONLINE)
        with pytest.raises(ValueError):
            sim.show("no-such-scene")


def test_simulator_writes_only_synthetic_frames_in_its_workdir(tmp_path):
    from devices.camera.simulator import start_for_device

    sim = start_for_device("cam", {"sim_scene": "obama_blink"}, tmp_path)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and all(p.parent == tmp_path / "camera-cam" for p in files)
    assert len(files) >= 10  # a blink is a sequence of frames
    sim.stop()
    assert not any(tmp_path.rglob("*.jpg"))


def test_camera_test_command(tmp_path):
    from devices.camera.simulator import CameraSimulator
    from kiosk.cli import cli

    sim = CameraSimulator(tmp_path / "frames", fps=25, width=640, height=480)
    try:
        res = CliRunner().invoke(cli, ["devices", "camera-test", "--seconds", "1", "--url", sim.url, "--json"])
    finally:
        sim.stop()
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["resolution"] == "640x480" and out["fps"] > 0 and out["status"] == "online"
    assert 20 < out["brightness"] < 240
    res = CliRunner().invoke(cli, ["devices", "camera-test", "--seconds", "0.5", "--url", "v4l2:///dev/video99"])
    assert res.exit_code == 1 and res.stderr.strip().startswith("error:") and res.stderr.count("\n") == 1


def test_sim_command_switches_scenes(tmp_path):
    from kiosk.cli import cli

    res = CliRunner().invoke(cli, ["sim", "camera", "--dir", str(tmp_path / "f"), "--scene", "empty"],
                             input="show biden\nshow nowhere\nblank\nquit\n")
    assert res.exit_code == 0, res.output
    assert "ok: show biden" in res.stdout and "ok: blank" in res.stdout
    assert "unknown scene" in res.stderr
    assert not (tmp_path / "f").exists()  # the frames go when the simulator stops
