"""``kiosk devices camera-test``: is the camera delivering usable pictures?"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from kiosk.core.clikit import emit, fail


def _configured_url(ctx: click.Context) -> tuple[str, dict]:
    from kiosk.core.config import ConfigError, load_config

    obj = ctx.find_root().obj if ctx else None
    config = getattr(obj, "config", None)
    if config is None:
        try:
            config = load_config()
        except ConfigError as exc:
            fail(str(exc), code=2)
    for spec in config.devices.values():
        if spec.get("family") == "camera":
            return spec["url"], {k: v for k, v in spec.items() if k not in ("family", "url")}
    fail("no camera configured (add a [devices.<name>] table with family = \"camera\")", code=2)
    raise AssertionError  # fail() exits


@click.command("camera-test")
@click.option("--seconds", default=3.0, show_default=True, type=click.FloatRange(0.5, 120), help="How long to watch.")
@click.option("--url", default=None, help="Camera URL (default: the configured camera; sim:// starts the simulator).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def camera_test(ctx: click.Context, seconds: float, url: str | None, as_json: bool) -> None:
    """Watch the camera for a few seconds: fps, resolution, brightness, status."""
    from devices.base import DeviceError

    from .driver import Camera, brightness

    options: dict = {}
    if url is None:
        url, options = _configured_url(ctx)
    with tempfile.TemporaryDirectory(prefix="kiosk-camera-test-") as tmp:
        sim = None
        if url.startswith("sim://"):
            from .simulator import start_for_device

            sim = start_for_device("camera", options, Path(tmp))
            url = sim.url
        try:
            cam = Camera("camera", url, options)
        except DeviceError as exc:
            fail(str(exc), code=2)
        cam.open()
        try:
            start_frames, start = cam.frame_count, time.monotonic()
            levels, last_ts = [], None
            while time.monotonic() - start < seconds:
                got = cam.wait_frame(last_ts, timeout=min(0.5, seconds))
                if got is not None:
                    last_ts = got[1]
                    if len(levels) < 50 or len(levels) % 10 == 0:
                        levels.append(brightness(got[0]))
            frames = cam.frame_count - start_frames
            elapsed = time.monotonic() - start
            status = cam.refresh_status()
            res = cam.resolution
        finally:
            cam.close()
            if sim is not None:
                sim.stop()
    result = {
        "url": url if sim is None else "sim://",
        "frames": frames,
        "fps": round(frames / elapsed, 1) if elapsed > 0 else 0.0,
        "resolution": f"{res[0]}x{res[1]}" if res else None,
        "brightness": round(sum(levels) / len(levels), 1) if levels else None,
        "status": status.device.value,
        "message": status.message_en,
    }
    human = (f"camera {result['url']}: {result['status']} - {result['message']}\n"
             f"  fps {result['fps']}  resolution {result['resolution']}  brightness {result['brightness']}"
             f"  ({frames} frames in {elapsed:.1f} s)")
    emit(result, as_json, human)
    if frames == 0:
        fail(f"no frames from the camera: {status.message_en}")
