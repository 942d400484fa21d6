"""Build the demo resident: a synthetic face that is no real person.

The classic composite: the face photos of tests/data/faces (two people,
five independent shots) are aligned on their 68 landmarks, each warped
piecewise-affinely onto one shared face shape and averaged, each person
weighing the same. The shared shape is the mean shape pushed away from
both people (a rounder face, larger eyes, wider nose, fuller mouth), so the
result is not a blend that the verifier would take for either of them.
The ID-card photo is the same composite in other light, turned a little and
mirrored: the same synthetic person, a different picture.

Run by a maintainer (needs dlib and the photos) through derive.py; the
kiosk only reads the results. derive.py checks the distances it promises.
"""

from __future__ import annotations

import cv2
import numpy as np

W, H = 480, 600
EYES = ((0.37 * W, 0.45 * H), (0.63 * W, 0.45 * H))  # where the eye centres go in the composite
BACKDROP = (214, 206, 200)  # a light wall (BGR)
# (photo, face index from the left, weight): each person weighs one half
SHOTS = (("obama_1.jpg", 0, 1 / 6), ("obama_2.jpg", 0, 1 / 6), ("two_people.jpg", 0, 1 / 6),
         ("biden_1.jpg", 0, 1 / 4), ("biden_2.jpg", 0, 1 / 4))
STRENGTH = 2.5


def _eye_similarity(pts: np.ndarray) -> np.ndarray:
    src = (pts[36:42].mean(0), pts[42:48].mean(0))
    d, e = src[1] - src[0], np.subtract(EYES[1], EYES[0])
    s = np.linalg.norm(e) / np.linalg.norm(d)
    a = np.arctan2(e[1], e[0]) - np.arctan2(d[1], d[0])
    r = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.c_[r, np.asarray(EYES[0]) - r @ src[0]]


def reshape(p: np.ndarray, k: float = STRENGTH) -> np.ndarray:
    """The mean shape ``p`` (68 points) made rounder, with larger eyes, a wider nose and a fuller mouth."""
    p = p.copy()
    cx = p[27, 0]

    def scale(idx, sx, sy, c=None):
        c = p[idx].mean(0) if c is None else c
        p[idx] = c + (p[idx] - c) * (sx, sy)

    scale(list(range(0, 17)), 1 + 0.12 * k, 1 - 0.06 * k, np.array([cx, p[27, 1]]))
    for eye in (list(range(36, 42)), list(range(42, 48))):
        scale(eye, 1 + 0.12 * k, 1 + 0.25 * k)
    scale(list(range(17, 27)), 1 + 0.08 * k, 1.0, np.array([cx, p[17:27, 1].mean()]))
    p[17:27, 1] -= 6 * k
    scale(list(range(31, 36)), 1 + 0.25 * k, 1.0)
    p[27:36, 1] = p[27, 1] + (p[27:36, 1] - p[27, 1]) * (1 - 0.08 * k)
    scale(list(range(48, 68)), 1 - 0.12 * k, 1 + 0.1 * k)
    p[48:68, 1] -= 6 * k
    return p


def _border() -> np.ndarray:
    return np.array([(x, y) for x in (0, W / 2, W - 1) for y in (0, H / 2, H - 1) if (x, y) != (W / 2, H / 2)])


def _triangles(points: np.ndarray) -> list[list[int]]:
    sub = cv2.Subdiv2D((0, 0, W, H))
    for x, y in points:
        sub.insert((float(np.clip(x, 0, W - 1)), float(np.clip(y, 0, H - 1))))
    out = []
    for t in sub.getTriangleList():
        idx = [int(np.linalg.norm(points - q, axis=1).argmin()) for q in t.reshape(3, 2)]
        if len(set(idx)) == 3:
            out.append(idx)
    return out


def _warp(img: np.ndarray, src: np.ndarray, dst: np.ndarray, tris) -> np.ndarray:
    out = np.zeros(img.shape, np.float32)
    for t in tris:
        d = np.float32(dst[t])
        x, y, w, h = cv2.boundingRect(d)
        if w == 0 or h == 0:
            continue
        a = cv2.getAffineTransform(np.float32(src[t]), np.float32(d - (x, y)))
        patch = cv2.warpAffine(img, a, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((h, w), np.float32)
        cv2.fillConvexPoly(mask, np.int32(np.round(d - (x, y))), 1.0, cv2.LINE_AA)
        y1, x1 = min(y + h, H), min(x + w, W)
        m = mask[:y1 - y, :x1 - x, None]
        out[y:y1, x:x1] = out[y:y1, x:x1] * (1 - m) + patch[:y1 - y, :x1 - x] * m
    return out


def outline(pts: np.ndarray) -> np.ndarray:
    """A soft head-and-shoulders mask (H x W x 1, 0..1) around the composite's landmarks ``pts``."""
    span = pts[45, 0] - pts[36, 0]
    mask = np.zeros((H, W), np.float32)
    top = pts[17:27, 1].min()
    cv2.ellipse(mask, (int(pts[27, 0]), int((top + pts[8, 1]) / 2 - span * 0.25)),
                (int(span * 1.25), int((pts[8, 1] - top) * 0.5 + span * 0.75)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (int(pts[27, 0]), int(pts[8, 1] + span * 1.9)), (int(span * 2.6), int(span * 1.6)),
                0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), span / 10)
    mask *= np.clip((H - 1 - np.arange(H, dtype=np.float32)) / (0.18 * H), 0, 1)[:, None]  # shoulders fade out
    return mask[:, :, None]


def on_backdrop(img: np.ndarray, mask: np.ndarray, backdrop: np.ndarray | None = None) -> np.ndarray:
    """The head and shoulders on ``backdrop`` (default: a plain light wall), nothing of the photos' backgrounds."""
    if backdrop is None:
        backdrop = np.empty_like(img)
        backdrop[:] = BACKDROP
    return (img * mask + backdrop * (1 - mask)).astype(np.uint8)


def build(photos: dict[str, np.ndarray], landmarks) -> tuple[np.ndarray, np.ndarray]:
    """(portrait W x H, its head-and-shoulders mask) of the synthetic resident.

    ``photos`` maps file names of SHOTS to BGR images; ``landmarks(bgr, index)``
    gives the 68 points of the index-th face from the left."""
    aligned, shapes, weights = [], [], []
    for name, index, weight in SHOTS:
        pts = landmarks(photos[name], index)
        m = _eye_similarity(pts)
        aligned.append(cv2.warpAffine(photos[name], m, (W, H), flags=cv2.INTER_CUBIC,
                                      borderMode=cv2.BORDER_REFLECT))
        shapes.append(pts @ m[:, :2].T + m[:, 2])
        weights.append(weight)
    target = reshape(np.average(shapes, axis=0, weights=weights))
    dst = np.r_[target, _border()]
    tris = _triangles(dst)
    acc = sum(w * _warp(img, np.r_[s, _border()], dst, tris) for img, s, w in zip(aligned, shapes, weights))
    portrait = np.clip(acc / sum(weights), 0, 255).astype(np.uint8)
    return portrait, outline(target)


def other_picture(portrait: np.ndarray) -> np.ndarray:
    """The same face photographed again: cooler light, turned 4 degrees, mirrored."""
    turned = cv2.warpAffine(portrait, cv2.getRotationMatrix2D((W / 2, H / 2), 4, 1.0), (W, H),
                            borderMode=cv2.BORDER_REPLICATE)
    lit = np.clip(turned.astype(np.float32) * (1.08, 0.97, 0.9) + 6, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(lit[:, ::-1])
