"""Quality gates for a live face, each tied to a prompt in kiosk/core/strings/face.toml.

Measures are taken on the face itself, scaled to a fixed width, so they mean
the same thing for a 640x480 and a 1920x1080 camera. Reasons come back in
the order a person should fix them (the first one is shown).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

NO_FACE = "face.quality.no_face"
SEVERAL_FACES = "face.quality.several_faces"
PARTIAL = "face.quality.partial"
TOO_SMALL = "face.quality.too_small"
NOT_CENTRED = "face.quality.not_centred"
NOT_FRONTAL = "face.quality.not_frontal"
TOO_DARK = "face.quality.too_dark"
TOO_BRIGHT = "face.quality.too_bright"
BLURRY = "face.quality.blurry"

ORDER = (NO_FACE, SEVERAL_FACES, PARTIAL, TOO_SMALL, NOT_CENTRED, NOT_FRONTAL, TOO_DARK, TOO_BRIGHT, BLURRY)

_PATCH_W = 128  # faces are compared for sharpness/brightness at this width


@dataclass(frozen=True)
class Gates:
    min_face_px: int = 90  # the encoder's 150 px chip needs real detail
    min_face_frac: float = 0.1  # of the frame width: closer than ~1 m to a kiosk camera
    centre_x: float = 0.3  # face centre within +-30% of the width from the middle
    centre_y: tuple[float, float] = (0.1, 0.8)  # and between these fractions of the height
    max_yaw: float = 0.25  # |nose offset| / eye span; obama_2 (head turned ~20 degrees) is 0.21-0.23
    min_brightness: float = 60.0  # mean grey level of the face
    max_brightness: float = 225.0
    min_sharpness: float = 30.0  # variance of the Laplacian on the 128 px face


def yaw(points: np.ndarray) -> float:
    """Signed head turn from landmarks: nose offset from the eyes' midpoint along the eye line,
    over the eye span.

    0 is frontal; positive when the nose points to the image's right. Measured
    along the line through the eyes, so a head (or a photo) turned in the
    image plane reads 0 and a printed face moved, scaled or turned in its plane
    keeps its yaw (tilting it changes the reading by a few hundredths): a
    held-up photo cannot fake a turn. Works for the 68-point (outer eye
    corners 36/45, nose tip 30) and the 5-point model (eye corners 0-3, nose
    base 4, whose offset is smaller: scaled up).
    """
    if len(points) == 68:
        left, right, nose, gain = points[36], points[45], points[30], 1.0
    else:
        xs = points[:4, 0]
        left, right, nose, gain = points[int(np.argmin(xs))], points[int(np.argmax(xs))], points[4], 1.5
    axis = np.asarray(right, np.float64) - np.asarray(left, np.float64)
    span2 = float(axis @ axis)
    if span2 <= 1 or axis[0] <= 0:
        return 1.0
    return float(gain * ((np.asarray(nose, np.float64) - (np.asarray(left) + np.asarray(right)) / 2) @ axis) / span2)


def face_patch(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    h, w = frame.shape[:2]
    left, top, right, bottom = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if right - left < 4 or bottom - top < 4:
        return None
    grey = cv2.cvtColor(frame[top:bottom, left:right], cv2.COLOR_BGR2GRAY)
    scale = _PATCH_W / grey.shape[1]
    return cv2.resize(grey, (_PATCH_W, max(4, int(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)


def check(frame: np.ndarray, box: tuple[int, int, int, int], points: np.ndarray,
          gates: Gates) -> tuple[list[str], dict]:
    """Reasons (catalog keys) this single face is not good enough, and the measures."""
    h, w = frame.shape[:2]
    left, top, right, bottom = box
    fw = right - left
    reasons: list[str] = []
    # The detector box may run past the border; landmarks outside the frame
    # mean part of the face is not visible.
    margin = 0.02 * fw
    xs, ys = points[:, 0], points[:, 1]
    outside = (xs < -margin) | (xs > w + margin) | (ys < -margin) | (ys > h + margin)
    if left < -margin or right > w + margin or outside.any():
        reasons.append(PARTIAL)
    if fw < max(gates.min_face_px, gates.min_face_frac * w):
        reasons.append(TOO_SMALL)
    cx, cy = (left + right) / 2 / w, (top + bottom) / 2 / h
    if abs(cx - 0.5) > gates.centre_x or not gates.centre_y[0] <= cy <= gates.centre_y[1]:
        reasons.append(NOT_CENTRED)
    turn = yaw(points)
    if abs(turn) > gates.max_yaw:
        reasons.append(NOT_FRONTAL)
    patch = face_patch(frame, box)
    light = float(patch.mean()) if patch is not None else 0.0
    sharp = float(cv2.Laplacian(patch, cv2.CV_64F).var()) if patch is not None else 0.0
    if light < gates.min_brightness:
        reasons.append(TOO_DARK)
    elif light > gates.max_brightness:
        reasons.append(TOO_BRIGHT)
    if sharp < gates.min_sharpness:
        reasons.append(BLURRY)
    metrics = {"face_px": fw, "centre": (round(cx, 3), round(cy, 3)), "yaw": round(turn, 3),
               "brightness": round(light, 1), "sharpness": round(sharp, 1)}
    return reasons, metrics
