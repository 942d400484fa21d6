"""Synthetic camera scenes: what a kiosk camera would see, built from packaged photos.

Only the simulator and tests use these. Every frame is made here from the
packaged crops (see ATTRIBUTION.txt) on a plain drawn wall, so a demo or a
test never needs real captures.

``render(name, width, height)`` returns a BGR frame; names are ``SCENES``.
``blink_sequence(name)`` returns frames of one blink (eyes edited closed).
``id_photo(name)`` returns the 102x126 JPEG bytes of an ID-card-style photo.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import cv2
import numpy as np

FRAME_W, FRAME_H = 1280, 720
PEOPLE = ("resident", "obama", "biden", "two_people")  # resident: synthetic, no real person (composite.py)
SCENES = PEOPLE + ("empty", "resident_blink", "obama_blink", "biden_blink", "dark")


def _folder():
    return resources.files(__name__)


@functools.lru_cache(maxsize=1)
def _meta() -> dict:
    return json.loads((_folder() / "scenes.json").read_text("utf-8"))


@functools.lru_cache(maxsize=8)
def _crop(file: str) -> np.ndarray:
    data = np.frombuffer((_folder() / file).read_bytes(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


@functools.lru_cache(maxsize=4)
def _wall(width: int, height: int) -> np.ndarray:
    """A lit hall wall: soft vertical gradient with a darker skirting band."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    light = 205 - 35 * y - 20 * x * x  # brighter in the middle, like a ceiling light
    wall = np.dstack([light + 8, light + 2, light - 6])
    wall[int(height * 0.9):] *= 0.7
    return np.clip(wall, 0, 255).astype(np.uint8)


def _base(name: str, closed_eyes: bool = False) -> np.ndarray:
    """The scene at the packaged 1280x720 geometry."""
    frame = _wall(FRAME_W, FRAME_H).copy()
    if name == "dark":
        return np.zeros_like(frame)
    if name == "empty":
        return frame
    entry = _meta()["scenes"][name]
    crop = _crop(entry["file"])
    x, y = entry["at"]
    frame[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
    if closed_eyes:
        for face in entry["faces"]:
            close_eyes(frame, face["eyes"])
    return frame


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop to the target aspect ratio, then resize (a camera with another sensor)."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    target = width / height
    if w / h > target:
        cw = int(round(h * target))
        frame = frame[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = int(round(w / target))
        frame = frame[(h - ch) // 2:(h - ch) // 2 + ch]
    interp = cv2.INTER_AREA if width < frame.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


def render(name: str, width: int = FRAME_W, height: int = FRAME_H) -> np.ndarray:
    """One BGR frame of a scene (``resident``, ``obama``, ``biden``, ``two_people``, ``empty``, ``dark``)."""
    base = name[:-len("_blink")] if name.endswith("_blink") else name
    if base not in SCENES:
        raise KeyError(f"unknown scene {name!r} (known: {', '.join(SCENES)})")
    return fit(_base(base), width, height)


def close_eyes(frame: np.ndarray, eyes) -> np.ndarray:
    """Edit ``frame`` in place so both eyes look shut.

    ``eyes`` holds two outlines of six (x, y) points in frame coordinates (the
    68-point landmark order 36-41 and 42-47). Each eye is covered with the
    skin just below it (a lid has the colour of the face, not of the brow),
    blended through a soft mask, and a lash line is drawn where the lids meet.
    """
    h, w = frame.shape[:2]
    for outline in eyes:
        pts = np.asarray(outline, np.float64)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        ew = x1 - x0
        eh = max(y1 - y0, ew * 0.3)
        bx0, bx1 = int(x0 - 0.2 * ew), int(x1 + 0.2 * ew)
        by0, by1 = int(y0 - 0.45 * eh), int(y1 + 0.45 * eh)
        shift = int((by1 - by0) * 1.1)
        if bx0 < 0 or by0 < 0 or bx1 > w or by1 + shift > h:
            continue
        box = frame[by0:by1, bx0:bx1].astype(np.float32)
        skin = frame[by0 + shift:by1 + shift, bx0:bx1].astype(np.float32)
        mask = np.zeros(box.shape[:2], np.float32)
        cv2.ellipse(mask, ((box.shape[1] / 2, box.shape[0] / 2), (box.shape[1] * 0.9, box.shape[0] * 0.9), 0), 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, ew / 10))[:, :, None]
        frame[by0:by1, bx0:bx1] = np.clip(box * (1 - mask) + skin * mask, 0, 255).astype(np.uint8)
        # the closed lid's lash line: corner to corner, sagging to the lower lid
        low = (pts[4, 1] + pts[5, 1]) / 2
        lid = np.array([pts[0], ((pts[0, 0] + pts[3, 0]) / 2, low), pts[3]], np.int32)
        colour = tuple(int(c) for c in skin.reshape(-1, 3).mean(axis=0) * 0.25)
        cv2.polylines(frame, [lid], False, colour, max(1, int(ew / 5)), cv2.LINE_AA)
    return frame


def turn_head(frame: np.ndarray, points, amount: float) -> np.ndarray:
    """A copy of ``frame`` with the head turned a little further.

    ``points`` are the face's 68 landmarks in frame coordinates. The middle
    of the face (nose, mouth) is shifted sideways by ``amount`` times the eye
    span (positive: to the image's right) under a smooth bump that fades out
    towards the ears, so the nose moves more than the eyes, as in a real turn.
    Mirroring a turned photo gives the other direction.
    """
    pts = np.asarray(points, np.float64)
    span = pts[45, 0] - pts[36, 0]
    top, bottom = pts[17:27, 1].min(), pts[8, 1]
    nose_x, mid_y = pts[30, 0], (top + bottom) / 2
    sx, sy = span * 0.45, (bottom - top) * 0.45
    h, w = frame.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    bump = np.exp(-((xs - nose_x) ** 2 / (2 * sx * sx) + (ys - mid_y) ** 2 / (2 * sy * sy)))
    # remap samples the source for each output pixel: shift the lookup the other way
    return cv2.remap(frame, (xs - amount * span * bump).astype(np.float32), ys, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def blink_sequence(name: str, width: int = FRAME_W, height: int = FRAME_H,
                   open_frames: int = 12, closed_frames: int = 5) -> list[np.ndarray]:
    """Frames of one blink: eyes open, shut for ``closed_frames``, open again."""
    base = name[:-len("_blink")] if name.endswith("_blink") else name
    if base not in PEOPLE:
        raise KeyError(f"no blink for scene {name!r}")
    opened = fit(_base(base), width, height)
    shut = fit(_base(base, closed_eyes=True), width, height)
    half = open_frames // 2
    return [opened] * half + [shut] * closed_frames + [opened] * (open_frames - half)


def placement(boxes, face_w: float, centre: tuple[float, float]) -> tuple[float, int, int]:
    """(scale, x offset, y offset) that gives the faces' mean width ``face_w``
    and puts the group's centre on ``centre`` (frame pixels).
    ``boxes`` are (left, top, right, bottom) in the photo."""
    boxes = np.asarray(boxes, np.float64)
    s = face_w / float(np.mean(boxes[:, 2] - boxes[:, 0]))
    gx = float(np.mean((boxes[:, 0] + boxes[:, 2]) / 2)) * s
    gy = float(np.mean((boxes[:, 1] + boxes[:, 3]) / 2)) * s
    return s, int(round(centre[0] - gx)), int(round(centre[1] - gy))


def compose(photo: np.ndarray, boxes, face_w: float = 250, centre=(FRAME_W / 2, 300),
            width: int = FRAME_W, height: int = FRAME_H) -> np.ndarray:
    """A kiosk-camera view of a photo: scaled, the person centred, on the wall."""
    s, ox, oy = placement(boxes, face_w, centre)
    scaled = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    frame = _wall(FRAME_W, FRAME_H).copy()
    x0, y0 = max(0, -ox), max(0, -oy)
    x1, y1 = min(scaled.shape[1], FRAME_W - ox), min(scaled.shape[0], FRAME_H - oy)
    frame[oy + y0:oy + y1, ox + x0:ox + x1] = scaled[y0:y1, x0:x1]
    return fit(frame, width, height)


def id_card_crop(photo: np.ndarray, box) -> np.ndarray:
    """A 102x126 ID-card-style photo (head and shoulders) around face ``box``."""
    left, top, right, bottom = box
    w = (right - left) * 1.9
    h = w * 126 / 102
    cx = (left + right) / 2
    y0 = int(max(0, top - 0.45 * (bottom - top)))
    x0 = int(max(0, cx - w / 2))
    crop = photo[y0:int(y0 + h), x0:int(x0 + w)]
    return cv2.resize(crop, (102, 126), interpolation=cv2.INTER_AREA)


def id_photo(name: str) -> bytes:
    """JPEG bytes of the 102x126 ID-card-style photo of ``resident``, ``obama`` or ``biden``."""
    try:
        file = _meta()["id_photos"][name]
    except KeyError:
        raise KeyError(f"no ID photo for {name!r} (known: {', '.join(_meta()['id_photos'])})") from None
    return (_folder() / file).read_bytes()
