"""Liveness challenge: a blink or a head turn seen over a few seconds of frames.

A printed photo or a still image on a phone has fixed landmarks: its eye
aspect ratio (EAR) never dips and its yaw never swings both ways, so it fails.

Blink: EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|) per eye from the 68-point
landmarks, averaged over both eyes, then divided by the face's own
height-to-width (eye midpoint to chin over the eye span): a printed photo
tilted towards or away from the camera squeezes the eyes and the face alike,
so its reading stays put, while a real blink moves only the lids. The open
level is the person's own
(high percentile of what was seen so far), so glasses or narrow eyes do not
matter; a blink is a dip below ``closed_ratio`` of it followed by a return
above ``open_ratio``.

Turn: yaw (quality.yaw) must pass ``-turn_yaw`` and ``+turn_yaw`` in the window.

Use: ``checker.feed(frame)`` for frames as they come (it analyses each one,
~20 ms); ``checker.done`` turns True on success or when ``seconds`` have
passed; ``checker.result() -> (live, reason_key)``.
"""

from __future__ import annotations

import time

import numpy as np

from . import quality as q
from .verifier import FaceVerifier

MODES = ("blink", "turn", "off")


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean EAR of both eyes from 68 landmarks."""
    def one(eye: np.ndarray) -> float:
        horizontal = np.linalg.norm(eye[0] - eye[3])
        if horizontal <= 1e-6:
            return 0.0
        return float((np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / (2.0 * horizontal))
    return (one(points[36:42]) + one(points[42:48])) / 2.0


def eye_openness(points: np.ndarray) -> float:
    """EAR over the face's height-to-width ratio: steady under any flat view of a flat photo."""
    span = float(np.linalg.norm(points[45] - points[36]))
    height = float(np.linalg.norm(points[8] - (points[36] + points[45]) / 2))
    if span <= 1e-6 or height <= 1e-6:
        return 0.0
    return eye_aspect_ratio(points) * span / height


class LivenessChecker:
    def __init__(self, mode: str = "blink", seconds: float | None = 6.0, verifier: FaceVerifier | None = None, *,
                 closed_ratio: float = 0.7, open_ratio: float = 0.85, turn_yaw: float = 0.2):
        if mode not in MODES:
            raise ValueError(f"liveness mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self.seconds = seconds
        self.verifier = verifier or FaceVerifier()
        self.closed_ratio = closed_ratio
        self.open_ratio = open_ratio
        self.turn_yaw = turn_yaw
        self.reset()

    def reset(self) -> None:
        self.frames = 0
        self.with_face = 0
        self.crowded = 0
        self._start: float | None = None
        self._last_ts: float | None = None
        self._ears: list[float] = []
        self._closed_seen = False
        self._passed = False
        self._yaw_min = 0.0
        self._yaw_max = 0.0

    @property
    def prompt_key(self) -> str:
        return f"face.liveness.prompt.{self.mode}" if self.mode != "off" else "face.liveness.off"

    @property
    def elapsed(self) -> float:
        if self._start is None or self._last_ts is None:
            return 0.0
        return self._last_ts - self._start

    @property
    def done(self) -> bool:
        return self.mode == "off" or self._passed or (self.seconds is not None and self.elapsed >= self.seconds)

    def progress(self) -> float:
        """0..1: half when the first part of the movement is seen, 1 when it is complete."""
        if self.mode == "off" or self._passed:
            return 1.0
        if self.mode == "blink":
            return 0.5 if self._closed_seen else 0.0
        return 0.5 if max(-self._yaw_min, self._yaw_max) >= self.turn_yaw else 0.0

    def feed(self, frame_bgr: np.ndarray, ts: float | None = None) -> float:
        """Analyse one frame (``ts`` in seconds, monotonic; default now); returns progress."""
        if self.done:
            return self.progress()
        ts = time.monotonic() if ts is None else float(ts)
        if self._start is None:
            self._start = ts
        self._last_ts = ts
        self.frames += 1
        a = self.verifier.analyse(frame_bgr, landmarks="68")
        if len(a.faces) > 1:
            self.crowded += 1
            return self.progress()
        if a.landmarks is None:
            return self.progress()
        self.with_face += 1
        if self.mode == "blink":
            self._feed_blink(eye_openness(a.landmarks))
        else:
            turn = q.yaw(a.landmarks)
            self._yaw_min, self._yaw_max = min(self._yaw_min, turn), max(self._yaw_max, turn)
            self._passed = self._yaw_min <= -self.turn_yaw and self._yaw_max >= self.turn_yaw
        return self.progress()

    def _feed_blink(self, ear: float) -> None:
        self._ears.append(ear)
        if len(self._ears) < 2:
            return
        open_level = float(np.percentile(self._ears, 90))
        if open_level <= 0:
            return
        if ear < self.closed_ratio * open_level:
            self._closed_seen = True
        elif self._closed_seen and ear >= self.open_ratio * open_level:
            self._passed = True

    def result(self) -> tuple[bool, str]:
        if self.mode == "off":
            return True, "face.liveness.off"
        if self._passed:
            return True, "face.liveness.ok"
        if self.frames and self.crowded * 3 > self.frames:
            return False, "face.liveness.several_faces"
        if self.with_face * 2 < max(1, self.frames):
            return False, "face.liveness.no_face"
        return False, "face.liveness.no_blink" if self.mode == "blink" else "face.liveness.no_turn"

    def stats(self) -> dict:
        """Numbers for technicians (no image data)."""
        out = {"frames": self.frames, "with_face": self.with_face, "elapsed_s": round(self.elapsed, 2)}
        if self._ears:
            out["ear_min"] = round(min(self._ears), 3)
            out["ear_max"] = round(max(self._ears), 3)
        if self.mode == "turn":
            out["yaw_range"] = [round(self._yaw_min, 3), round(self._yaw_max, 3)]
        return out
