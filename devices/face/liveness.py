"""Liveness challenge: a blink or a head turn seen over a few seconds of frames.

A printed photo or a still image on a phone has fixed landmarks: its eye
aspect ratio (EAR) never dips and its yaw never swings both ways, so it fails.

Blink: the eyes are compared with themselves, not with a landmark ratio.
Each frame is mapped onto the first one by the homography that fits the
face's stable landmarks (jaw, brows, nose, eye corners, mouth corners), and
both eye regions are cut from it at a fixed size. A blink is an eye region
that stops looking like the person's usual (median) one, more than the nose
region did in the same frame, and then looks like it again. A print
rectified this way shows the same eyes in every frame, however it is tipped.
Two more guards: a frame only counts while the face is close to the first
frame's geometry (``move_gate``: landmarks off a similarity fit by under
3.5% of the eye span), and a face whose landmarks move as a rigid plane
(far off a similarity, yet a homography fits them: a print tipped in a
hand) in ``flat_frames`` frames is refused outright. The eye aspect ratio
(EAR) is still measured for the technicians' stats.

Turn: yaw (quality.yaw) must pass ``-turn_yaw`` and ``+turn_yaw`` in the window.

Use: ``checker.feed(frame)`` for frames as they come (it analyses each one,
~20 ms); ``checker.done`` turns True on success or when ``seconds`` have
passed; ``checker.result() -> (live, reason_key)``.
"""

from __future__ import annotations

import time

import cv2
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


# landmarks that neither a blink nor speech moves: jaw, brows, nose, eye corners, mouth corners
STABLE = np.array([*range(0, 36), 36, 39, 42, 45, 48, 54])
EYE_PATCH = (32, 16)
NOSE_PATCH = (48, 14)


def _unit(patch: np.ndarray) -> np.ndarray:
    v = patch.astype(np.float64).ravel()
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def _fit_residuals(pts: np.ndarray, ref: np.ndarray) -> tuple[float, float, np.ndarray | None]:
    """RMS residual (pixels) of the best similarity and of the best homography from ``pts`` to ``ref``."""
    src, dst = pts[STABLE].astype(np.float32), ref[STABLE].astype(np.float32)
    sim, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    hom, _ = cv2.findHomography(src, dst, 0)
    if sim is None or hom is None:
        return float("inf"), float("inf"), None
    s_res = float(np.sqrt(((src @ sim[:, :2].T + sim[:, 2] - dst) ** 2).sum(1).mean()))
    proj = cv2.perspectiveTransform(src.reshape(-1, 1, 2).astype(np.float64), hom).reshape(-1, 2)
    h_res = float(np.sqrt(((proj - dst) ** 2).sum(1).mean()))
    return s_res, h_res, hom


def _cut(grey: np.ndarray, hom: np.ndarray, centre, w: float, h: float, size: tuple[int, int]) -> np.ndarray:
    """The ``w`` x ``h`` region around ``centre`` (reference frame coordinates) of ``grey``, at ``size``."""
    sx, sy = size[0] / w, size[1] / h
    to_patch = np.array([[sx, 0, -(centre[0] - w / 2) * sx], [0, sy, -(centre[1] - h / 2) * sy], [0, 0, 1]])
    return cv2.warpPerspective(grey, to_patch @ hom, size, flags=cv2.INTER_AREA)


def eye_regions(grey: np.ndarray, hom: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(both eyes, nose) as unit vectors, cut from ``grey`` mapped onto the reference landmarks ``ref``."""
    eyes = []
    for a, b in ((36, 39), (42, 45)):
        w = float(np.linalg.norm(ref[b] - ref[a])) * 1.5
        eyes.append(_unit(_cut(grey, hom, (ref[a] + ref[b]) / 2, w, w / 2, EYE_PATCH)))
    span = float(np.linalg.norm(ref[45] - ref[36]))
    nose = _unit(_cut(grey, hom, ref[29], span * 1.2, span * 0.35, NOSE_PATCH))
    return np.concatenate(eyes) / np.sqrt(2), nose


class LivenessChecker:
    def __init__(self, mode: str = "blink", seconds: float | None = 6.0, verifier: FaceVerifier | None = None, *,
                 closed_change: float = 0.15, open_change: float = 0.08, move_gate: float = 0.035,
                 flat_ratio: float = 0.5, flat_frames: int = 3, closed_frames: int = 2, turn_yaw: float = 0.2):
        if mode not in MODES:
            raise ValueError(f"liveness mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self.seconds = seconds
        self.verifier = verifier or FaceVerifier()
        self.closed_change = closed_change
        self.open_change = open_change
        self.move_gate = move_gate
        self.flat_ratio = flat_ratio
        self.flat_frames = flat_frames
        self.closed_frames = closed_frames
        self.turn_yaw = turn_yaw
        self.reset()

    def reset(self) -> None:
        self.frames = 0
        self.with_face = 0
        self.crowded = 0
        self._start: float | None = None
        self._last_ts: float | None = None
        self._ears: list[float] = []
        self._ref: np.ndarray | None = None
        self._eyes: list[np.ndarray] = []
        self._noses: list[np.ndarray] = []
        self._changes: list[float] = []
        self._flat = 0
        self._far = 0
        self._shut_run = 0
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
            self._ears.append(eye_openness(a.landmarks))
            self._feed_blink(frame_bgr, a.landmarks)
        else:
            turn = q.yaw(a.landmarks)
            self._yaw_min, self._yaw_max = min(self._yaw_min, turn), max(self._yaw_max, turn)
            self._passed = self._yaw_min <= -self.turn_yaw and self._yaw_max >= self.turn_yaw
        return self.progress()

    def _feed_blink(self, frame_bgr: np.ndarray, pts: np.ndarray) -> None:
        if self._ref is None:
            self._ref = pts.copy()
        span = float(np.linalg.norm(self._ref[45] - self._ref[36]))
        s_res, h_res, hom = _fit_residuals(pts, self._ref)
        if hom is None or span <= 1e-6:
            return
        moved = s_res / span
        if moved > self.move_gate:
            if h_res < self.flat_ratio * s_res:  # tipped like a card: a flat picture
                self._flat += 1
            else:
                self._far += 1
                if self._far >= 3:  # the person settled elsewhere: compare with the new pose from here on
                    self._ref, self._far = pts.copy(), 0
                    self._eyes.clear()
                    self._noses.clear()
            return
        self._far = 0
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
        eyes, nose = eye_regions(grey, hom, self._ref)
        self._eyes.append(eyes)
        self._noses.append(nose)
        if len(self._eyes) < 3:
            return
        usual_eyes = _unit(np.median(self._eyes, axis=0))
        usual_nose = _unit(np.median(self._noses, axis=0))
        change = (1.0 - float(eyes @ usual_eyes)) - (1.0 - float(nose @ usual_nose))
        self._changes.append(change)
        if self._flat >= self.flat_frames:
            return
        # a lid stays down 100-400 ms: two frames in a row, so one noisy frame is no blink
        self._shut_run = self._shut_run + 1 if change >= self.closed_change else 0
        if self._shut_run >= self.closed_frames:
            self._closed_seen = True
        elif self._closed_seen and change <= self.open_change:
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
        if self._changes:
            out["eye_change_max"] = round(max(self._changes), 3)
        if self.mode == "blink":
            out["flat_frames"] = self._flat
        if self.mode == "turn":
            out["yaw_range"] = [round(self._yaw_min, 3), round(self._yaw_max, 3)]
        return out
