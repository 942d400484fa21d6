"""Degraded and hostile versions of the packaged or test photos.

Used by the face calibration study (benchmarks/face_calibration.py) and the
tests: what a real card photo and a real hall camera do to a face, and what
an attacker shows the camera. Everything is made from the given image in
memory; nothing here reads or writes files.

ID-card side: ``id_like`` (102x126, grey background, small rotation,
brightness, wavelet compression into 1-2 KB: the card chip holds 1 KB of
WLT, a wavelet codec tuned for faces, so a generic JPEG 2000 needs more bytes
for a like result).
Camera side: ``motion_blur``, ``backlight``, ``low_light``, ``draw_glasses``.
Attacks: ``morph`` (two faces blended on common landmarks) and ``held_photo``
(a printed still frame moved, scaled, turned and tilted in front of the camera).
"""

from __future__ import annotations

import cv2
import numpy as np

ID_W, ID_H = 102, 126
CHIP_BYTES = 1024  # GA 467 card photo: WLT-compressed into 1024 bytes


def _rotate(image: np.ndarray, degrees: float, centre=None, scale: float = 1.0) -> np.ndarray:
    h, w = image.shape[:2]
    centre = (w / 2, h / 2) if centre is None else tuple(float(c) for c in centre)
    m = cv2.getRotationMatrix2D(centre, degrees, scale)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def brightness(image: np.ndarray, gain: float, offset: float = 0.0) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def grey_background(image: np.ndarray, box, level: int = 200) -> np.ndarray:
    """Replace everything outside a soft head-and-shoulders ellipse with flat grey (an ID photo's backdrop)."""
    left, top, right, bottom = box
    fw, fh = right - left, bottom - top
    mask = np.zeros(image.shape[:2], np.float32)
    centre = (int((left + right) / 2), int(top + fh * 0.35))
    cv2.ellipse(mask, centre, (int(fw * 0.62), int(fh * 0.9)), 0, 0, 360, 1.0, -1)  # head and hair
    cv2.ellipse(mask, (centre[0], int(bottom + fh * 1.1)), (int(fw * 1.1), int(fh * 0.9)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, fw / 12))[:, :, None]
    grey = np.full_like(image, level)
    return (image * mask + grey * (1 - mask)).astype(np.uint8)


def wavelet_compress(image: np.ndarray, max_bytes: int = CHIP_BYTES) -> np.ndarray:
    """JPEG 2000 (a wavelet codec like the card's WLT) at the lowest rate that fits ``max_bytes``."""
    lo, hi, best = 1, 1000, None
    while lo <= hi:  # the codec's rate is in thousandths of the raw size
        mid = (lo + hi) // 2
        ok, data = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, mid])
        if ok and len(data) <= max_bytes:
            best, lo = data, mid + 1
        else:
            hi = mid - 1
    if best is None:
        ok, best = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1])
    return cv2.imdecode(best, cv2.IMREAD_COLOR)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def id_like(photo: np.ndarray, box, *, rotate: float = 0.0, gain: float = 1.0, grey: bool = True,
            codec: str = "wavelet", quality: int = 20, max_bytes: int = 2 * CHIP_BYTES) -> np.ndarray:
    """An ID-card photo (102x126 BGR) of the face in ``box`` (left, top, right, bottom) of ``photo``."""
    from . import id_card_crop

    image = photo
    if grey:
        image = grey_background(image, box)
    if rotate:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        image = _rotate(image, rotate, (cx, cy))
    card = id_card_crop(image, box)
    if gain != 1.0:
        card = brightness(card, gain)
    if codec == "wavelet":
        return wavelet_compress(card, max_bytes)
    if codec == "jpeg":
        return jpeg(card, quality)
    return card


def motion_blur(frame: np.ndarray, length: int = 11, angle: float = 0.0) -> np.ndarray:
    """A person moving during the exposure: a line kernel ``length`` px long."""
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    k = _rotate(k, angle) if angle else k
    return cv2.filter2D(frame, -1, k / k.sum())


def backlight(frame: np.ndarray, box, face_gain: float = 0.55, wall_gain: float = 1.35) -> np.ndarray:
    """A bright window behind the person: the wall blown out, the face in shadow."""
    left, top, right, bottom = box
    fw, fh = right - left, bottom - top
    mask = np.zeros(frame.shape[:2], np.float32)
    cv2.ellipse(mask, (int((left + right) / 2), int((top + bottom) / 2 + fh * 0.3)),
                (int(fw * 0.9), int(fh * 1.4)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), fw / 6)[:, :, None]
    gain = face_gain * mask + wall_gain * (1 - mask)
    return np.clip(frame.astype(np.float32) * gain + 20 * (1 - mask), 0, 255).astype(np.uint8)


def low_light(frame: np.ndarray, gain: float = 0.45, noise: float = 6.0, seed: int = 0) -> np.ndarray:
    """A dim hall: darker, with the sensor noise a camera adds when it raises its gain."""
    rng = np.random.default_rng(seed)
    out = frame.astype(np.float32) * gain + rng.normal(0, noise, frame.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def draw_glasses(frame: np.ndarray, points, colour=(25, 25, 25), lens_tint: float = 0.0) -> np.ndarray:
    """A copy with spectacles drawn over the eyes of the 68 landmarks ``points`` (frame coordinates)."""
    pts = np.asarray(points, np.float64)
    out = frame.copy()
    span = pts[45, 0] - pts[36, 0]
    thick = max(2, int(span / 30))
    centres = []
    for eye in (pts[36:42], pts[42:48]):
        c = eye.mean(axis=0)
        axes = (int(span * 0.24), int(span * 0.17))
        angle = float(np.degrees(np.arctan2(pts[45, 1] - pts[36, 1], pts[45, 0] - pts[36, 0])))
        if lens_tint:
            lens = np.zeros(out.shape[:2], np.uint8)
            cv2.ellipse(lens, (int(c[0]), int(c[1])), axes, angle, 0, 360, 255, -1)
            out[lens > 0] = (out[lens > 0] * (1 - lens_tint)).astype(np.uint8)
        cv2.ellipse(out, (int(c[0]), int(c[1])), axes, angle, 0, 360, colour, thick, cv2.LINE_AA)
        centres.append((c, axes[0]))
    (c1, r1), (c2, r2) = centres
    cv2.line(out, (int(c1[0] + r1), int(c1[1])), (int(c2[0] - r2), int(c2[1])), colour, thick, cv2.LINE_AA)
    for c, r, side in ((c1, r1, -1), (c2, r2, 1)):  # the arms towards the ears
        x = c[0] + side * r
        cv2.line(out, (int(x), int(c[1])), (int(x + side * span * 0.35), int(c[1] - span * 0.03)), colour, thick,
                 cv2.LINE_AA)
    return out


def _similarity(src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
    m, _ = cv2.estimateAffinePartial2D(src_pts.astype(np.float32), dst_pts.astype(np.float32))
    return m


def morph(base: np.ndarray, base_pts, other: np.ndarray, other_pts, alpha: float) -> np.ndarray:
    """``base`` with ``other``'s face blended in: ``alpha`` is the share of ``other`` (0..1).

    ``other`` is aligned onto ``base`` by the similarity transform between the
    68-point landmarks (eyes, nose, mouth), then cross-faded inside a soft
    face mask; the frame, hair and background stay ``base``'s. This is the
    look-alike an attacker would build from a card holder's photo.
    """
    bp, op = np.asarray(base_pts, np.float64), np.asarray(other_pts, np.float64)
    m = _similarity(op[17:68], bp[17:68])
    h, w = base.shape[:2]
    aligned = cv2.warpAffine(other, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    hull = cv2.convexHull(bp.astype(np.int32))
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    span = bp[45, 0] - bp[36, 0]
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, span / 8))[:, :, None] * float(alpha)
    return np.clip(base * (1 - mask) + aligned * mask, 0, 255).astype(np.uint8)


def held_photo(frame: np.ndarray, *, dx: float = 0.0, dy: float = 0.0, scale: float = 1.0, rotate: float = 0.0,
               tilt: float = 0.0, pan: float = 0.0) -> np.ndarray:
    """A printed still ``frame`` held up to the camera: shifted (px), scaled, turned in plane
    (degrees), and tilted (``tilt``: top edge away, ``pan``: one side away, degrees) as a hand holds a card."""
    h, w = frame.shape[:2]
    f = float(w)  # a plain pinhole of about 53 degrees across
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float64)
    t, p = np.radians(tilt), np.radians(pan)
    rx = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    pts3 = np.c_[corners, np.zeros(4)] @ (ry @ rx).T
    z = pts3[:, 2] + f
    projected = pts3[:, :2] * (f / z)[:, None]
    r = np.radians(rotate)
    rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    dst = (projected @ rot.T) * scale + (w / 2 + dx, h / 2 + dy)
    src = corners + (w / 2, h / 2)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    from . import _wall

    wall = _wall(w, h) if (w, h) == (1280, 720) else np.full_like(frame, 180)
    warped = cv2.warpPerspective(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (w, h)) > 127
    out = wall.copy()
    out[inside] = warped[inside]
    return out
