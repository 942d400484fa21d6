"""Camera simulator: a folder of frames that the real driver reads over ``file://``.

The handle renders synthetic scenes (devices/camera/scenes) into a folder it
owns inside ``workdir`` and the driver opens ``file://<folder>/?fps=N``, the
same path a technician would use for a recorded clip. ``show()`` swaps the
folder's files, which the driver notices on its next frame. Only these
synthetic frames are ever written; real captures never touch the disk.

Controls: ``show(scene or path)``, ``blank()`` (lens covered: black frames),
``freeze()``/``resume()`` (stream stops: the driver reports hardwareError),
``unplug()``/``plug()`` (folder gone: noDevice), ``stop()``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from pathlib import Path

import click
import cv2
import numpy as np

from ..console import run_console
from . import scenes
from .driver import IMAGE_SUFFIXES

MAX_VIDEO_FRAMES = 300


def _frames_for(what, width: int, height: int) -> list[np.ndarray]:
    """Frames for a scene name, an image, a folder of images or a video."""
    if isinstance(what, np.ndarray):
        return [scenes.fit(what, width, height)]
    if isinstance(what, (list, tuple)):
        return [scenes.fit(f, width, height) for f in what]
    name = str(what)
    if name in scenes.SCENES:
        if name.endswith("_blink"):
            return scenes.blink_sequence(name, width, height)
        return [scenes.render(name, width, height)]
    path = Path(name)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files]
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        frames = [cv2.imread(str(path), cv2.IMREAD_COLOR)]
    elif path.is_file():
        cap = cv2.VideoCapture(str(path))
        frames = []
        while len(frames) < MAX_VIDEO_FRAMES:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        cap.release()
    else:
        raise ValueError(f"unknown scene or missing file: {name} (scenes: {', '.join(scenes.SCENES)})")
    frames = [f for f in frames if f is not None]
    if not frames:
        raise ValueError(f"no readable frames in {name}")
    return [scenes.fit(f, width, height) for f in frames]


class CameraSimulator:
    def __init__(self, folder: Path, fps: float = 25.0, width: int = scenes.FRAME_W, height: int = scenes.FRAME_H,
                 scene="resident"):
        self.folder = Path(folder)
        self.fps = float(fps)
        self.width, self.height = int(width), int(height)
        self._lock = threading.Lock()
        self._generation = itertools.count(1)
        self._current = scene
        self.folder.mkdir(parents=True, exist_ok=True)
        self.show(scene)

    @property
    def url(self) -> str:
        return f"file://{self.folder}/?fps={self.fps:g}"

    @property
    def scene(self):
        return self._current

    def _replace(self, frames: list[np.ndarray]) -> None:
        gen = next(self._generation)
        staged = self.folder / f".staging-{gen}"
        staged.mkdir()
        encoded: dict[int, bytes] = {}  # a blink repeats the same open-eye frame: encode it once
        for i, frame in enumerate(frames):
            data = encoded.get(id(frame))
            if data is None:
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
                data = encoded[id(frame)] = buf.tobytes()
            (staged / f"{gen:05d}-{i:04d}.jpg").write_bytes(data)
        # old frames out, new frames in: the driver sees at most a short gap, never a mix
        self._clear()
        for p in sorted(staged.iterdir()):
            os.replace(p, self.folder / p.name)
        staged.rmdir()

    def _clear(self) -> None:
        for p in self.folder.iterdir():
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                p.unlink(missing_ok=True)

    def show(self, what) -> None:
        """Make the camera see a scene (``resident``, ``obama``, ``biden``, ``two_people``,
        ``empty``, ``resident_blink``, ...), an image, a folder or a video."""
        with self._lock:
            frames = _frames_for(what, self.width, self.height)
            self._current = what
            if self.folder.is_dir():
                self._replace(frames)

    def blank(self) -> None:
        """Lens covered or lights off: black frames."""
        self.show("dark")

    def freeze(self) -> None:
        """The stream stops: no new frames (the driver keeps the last one)."""
        with self._lock:
            self._clear()

    def resume(self) -> None:
        self.show(self._current)

    def unplug(self) -> None:
        """The camera goes away: its frames and (when nothing else is in it) the folder."""
        with self._lock:
            if self.folder.is_dir():
                self._clear()
                for p in self.folder.glob(".staging-*"):
                    shutil.rmtree(p, ignore_errors=True)
                try:
                    self.folder.rmdir()
                except OSError:  # someone else's files are there too: leave them
                    pass

    def plug(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.show(self._current)

    def stop(self) -> None:
        self.unplug()


def start_for_device(name: str, options: dict, workdir: Path) -> CameraSimulator:
    folder = Path(workdir) / f"camera-{name}"
    return CameraSimulator(folder, fps=float(options.get("sim_fps", 25)),
                           width=int(options.get("sim_width", scenes.FRAME_W)),
                           height=int(options.get("sim_height", scenes.FRAME_H)),
                           scene=options.get("sim_scene", "resident"))


@click.command("camera")
@click.option("--scene", default="resident", show_default=True,
              help=f"Scene ({', '.join(scenes.SCENES)}) or an image, folder or video path.")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder for the synthetic frames (default: a temporary folder, removed on exit).")
@click.option("--fps", default=25.0, show_default=True)
@click.option("--size", default="1280x720", show_default=True, help="Frame size WxH.")
def cli(scene: str, folder: str | None, fps: float, size: str) -> None:
    """Simulated camera: frames in a folder for file:// (type 'show SCENE', 'blank', 'freeze', 'resume', 'quit')."""
    from kiosk.core.clikit import fail

    try:
        width, height = (int(x) for x in size.lower().split("x"))
    except ValueError:
        fail(f"--size must look like 1280x720, not {size!r}", code=2)
    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="kiosk-camera-")
        folder = tmp.name
    try:
        sim = CameraSimulator(Path(folder), fps=fps, width=width, height=height, scene=scene)
    except ValueError as exc:
        fail(str(exc), code=2)
    click.echo(f"camera simulator: {sim.url}")
    click.echo("use it with: kiosk devices camera-test --url '" + sim.url + "'")

    def command(words: list[str]) -> None:
        cmd, arg = (words[0], " ".join(words[1:])) if words else ("", "")
        if cmd == "show" and arg:
            sim.show(arg)
        elif cmd in ("blank", "freeze", "resume", "unplug", "plug"):
            getattr(sim, cmd)()
        elif cmd:
            click.echo("commands: show SCENE|PATH, blank, freeze, resume, unplug, plug, quit", err=True)
            return
        else:
            return
        click.echo(f"ok: {' '.join(words)}")

    try:
        run_console(command)
    finally:
        sim.stop()
        if tmp is not None:
            tmp.cleanup()
