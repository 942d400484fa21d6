"""The face encoder child process and its in-process stand-in.

dlib's encoder network and liveness' 68-point landmarks run in a child
process (``python -m devices.face.encoder``, without OpenCV): dlib holds Python's GIL for
the whole call, and the 68-point model takes ~70 MB that the app then does
not hold. ``FaceVerifier`` asks through ``_ProcessEncoder`` (or
``_InlineEncoder`` in the same process, for tools and tests).
"""

from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .models import Models as _Models

log = logging.getLogger("devices.face.verifier")


def _points(shape) -> list[tuple[int, int]]:
    return [(p.x, p.y) for p in shape.parts()]


# dlib's encoder works on a 150x150 chip aligned from the landmarks; making the
# chip here (under 1 ms) means the child gets 67 KB instead of the whole crop
# and skips the alignment: the same encoding, a few ms sooner.
CHIP_SIZE, CHIP_PADDING = 150, 0.25


def _chip(crop: np.ndarray, shape) -> np.ndarray:
    import dlib

    return dlib.get_face_chip(crop, shape, size=CHIP_SIZE, padding=CHIP_PADDING)


# A request to the child: kind (b"E" encode a chip, b"L" 68 landmarks on a
# crop), image height, width, four ints (jitters; or the face's box), the
# RGB bytes. Replies: 128 float64, or 68 (x, y) int32.
_HEADER = struct.Struct("<c6i")


def _pack(kind: bytes, image: np.ndarray, *args: int) -> bytes:
    head = _HEADER.pack(kind, image.shape[0], image.shape[1], *args, *(0,) * (4 - len(args)))
    return head + np.ascontiguousarray(image, dtype=np.uint8).tobytes()


def _landmarks68_here(crop: np.ndarray, rect):
    return _Models.get().landmarks68(crop, rect)


def _read_exact(stream, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("encoder pipe closed")
        buf += chunk
    return bytes(buf)


def encoder_main() -> None:
    """The child process (``python -m devices.face.encoder``): requests on stdin, replies on stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app stops it (EOF on stdin), never a traceback
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print from a library must not corrupt the replies
    inp = sys.stdin.buffer
    models = _Models.get()
    models.encoder, models.landmarks68  # noqa: B018 (the models this process keeps out of the app)
    try:
        out.write(b"R")  # ready
        while True:
            kind, h, w, *args = _HEADER.unpack(_read_exact(inp, _HEADER.size))
            image = np.frombuffer(_read_exact(inp, h * w * 3), dtype=np.uint8).reshape(h, w, 3)
            if kind == b"L":
                shape = models.landmarks68(image, models.rectangle(*args))
                out.write(np.array(_points(shape), dtype="<i4").tobytes())
            else:
                out.write(_encode_chip(image, args[0]).astype("<f8").tobytes())
    except (EOFError, BrokenPipeError):
        # the app closed its end (stopping, or it gave up on a slow start): leave quietly
        return


RETRY_CHILD_S = 300.0


class _ProcessEncoder:
    """The face encoder in a child process.

    dlib's encoder holds Python's GIL for its whole ~70 ms (800 ms for the
    ID photo's 10 jitters), which stalls the camera's capture thread and the
    UI. In a child process it runs on the other core while this process only
    waits on a pipe (GIL released). The child also finds liveness' 68
    landmarks: that model takes ~70 MB, which the app then does not hold
    (the same dlib call on the same crop: the same points). The child is
    this module run with ``python -m``; the pipes are in-memory channels
    between two processes of this program: nothing reaches a disk or the
    network. Falls back to in-process work if the child cannot be started
    or dies.
    """

    def __init__(self, timeout_s: float = 10.0):
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._broken_at: float | None = None  # monotonic time the child last failed

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        # Its own process group: Ctrl-C on the terminal is for the app, which
        # ends the child by closing its pipe (also when the app itself dies).
        proc = subprocess.Popen([sys.executable, "-m", "devices.face.encoder"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env, close_fds=True, process_group=0)
        if not self._wait_readable(proc, 60.0) or proc.stdout.read(1) != b"R":
            proc.kill()
            proc.wait(timeout=5)
            raise OSError("face encoder process did not start")
        self._proc = proc

    @staticmethod
    def _wait_readable(proc: subprocess.Popen, timeout: float) -> bool:
        import select

        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        return bool(ready)

    @property
    def _broken(self) -> bool:
        """A failed child is tried again after a while: a moment of overload
        must not move encoding into the app process for the rest of its life."""
        return self._broken_at is not None and time.monotonic() - self._broken_at < RETRY_CHILD_S

    def start(self) -> None:
        with self._lock:
            if self._proc is None and not self._broken:
                try:
                    self._start()
                except Exception:
                    self._broken_at = time.monotonic()

    def _ask(self, request: bytes, reply_size: int, timeout: float) -> bytes | None:
        """The child's reply, or None (then the caller works in-process) when it is broken."""
        with self._lock:
            if self._broken:
                return None
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
                self._proc.stdin.write(request)
                self._proc.stdin.flush()
                if self._wait_readable(self._proc, timeout):
                    return _read_exact(self._proc.stdout, reply_size)
            except (OSError, EOFError, ValueError):
                pass
            self._stop_locked()  # dead or hung: work here for a while
            self._broken_at = time.monotonic()
            log.warning("face encoder process failed; encoding in the app for now",
                        extra={"retry_in_s": RETRY_CHILD_S})
            return None

    def encode(self, crop: np.ndarray, shape, jitters: int) -> np.ndarray:
        return self.compute_face_descriptor(_chip(crop, shape), jitters)

    def compute_face_descriptor(self, chip: np.ndarray, jitters: int = 1) -> np.ndarray:
        """dlib's descriptor of an aligned chip (also the numpy encoder's check: the app need not load dlib's)."""
        reply = self._ask(_pack(b"E", chip, jitters), 128 * 8, self.timeout_s + 0.1 * jitters)
        if reply is None:
            return _encode_chip(chip, jitters)
        return np.frombuffer(reply, dtype="<f8").astype(np.float64)

    def landmarks68(self, crop: np.ndarray, rect):
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        reply = self._ask(_pack(b"L", crop, *box), 68 * 2 * 4, self.timeout_s)
        if reply is None:
            return _landmarks68_here(crop, rect)
        import dlib

        points = np.frombuffer(reply, dtype="<i4").reshape(68, 2).tolist()
        return dlib.full_object_detection(rect, [dlib.point(x, y) for x, y in points])

    def _stop_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=2)
        if proc.stdout:
            proc.stdout.close()

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


def _encode_chip(chip: np.ndarray, jitters: int) -> np.ndarray:
    return np.asarray(_Models.get().encoder.compute_face_descriptor(chip, jitters), dtype=np.float64)


def _encode_here(crop: np.ndarray, shape, jitters: int) -> np.ndarray:
    return _encode_chip(_chip(crop, shape), jitters)


class _InlineEncoder:
    def start(self) -> None:
        pass

    def encode(self, crop: np.ndarray, shape, jitters: int) -> np.ndarray:
        return _encode_here(crop, shape, jitters)

    def landmarks68(self, crop: np.ndarray, rect):
        return _landmarks68_here(crop, rect)

    def stop(self) -> None:
        pass


if __name__ == "__main__":
    encoder_main()
