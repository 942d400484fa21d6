"""Rebuild the packaged camera scenes from the face_recognition test photos.

The default scene, "resident", is no real person: a composite of all the
test photos (composite.py), with its ID-card photo (also written to
devices/idcard/photos/resident.png) a second picture of that composite.

Run once by a maintainer (needs dlib and the photos); the kiosk itself only
reads the results: person crops already scaled for a 1280x720 frame,
102x126 ID-card-sized photos, and scenes.json (where each crop goes in the
frame, its face boxes and eye outlines for the synthetic blink).

    python devices/camera/scenes/derive.py [tests/data/faces]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import dlib
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
from devices.camera import scenes  # noqa: E402
from devices.camera.scenes import composite  # noqa: E402
from devices.face.verifier import model_dir  # noqa: E402

FRAME_W, FRAME_H = scenes.FRAME_W, scenes.FRAME_H

# scene -> (source photo, face width in the 1280x720 frame, face centre in the frame);
# "resident" is the synthetic demo resident (composite.py), the simulator's default
SCENES = {
    "resident": ("resident", 250, (640, 300)),
    "obama": ("obama_1.jpg", 250, (640, 300)),
    "biden": ("biden_2.jpg", 250, (640, 300)),
    "two_people": ("two_people.jpg", 170, (640, 260)),
}
# ID photos come from a different photo than the live scene, as on a real card
ID_PHOTOS = {"obama": "obama_2.jpg", "biden": "biden_1.jpg", "resident": "resident_id"}
CARD_PHOTOS = HERE.parents[1] / "idcard" / "photos"


def _faces(detector, predictor, rgb):
    out = []
    for rect in sorted(detector(rgb, 1), key=lambda r: r.left()):
        pts = np.array([(p.x, p.y) for p in predictor(rgb, rect).parts()], dtype=np.float64)
        out.append(((rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1), pts))
    return out


def synthetic(src: Path, detector, predictor) -> dict[str, np.ndarray]:
    """The demo resident's two pictures, built from the test photos (composite.py)."""
    def landmarks(bgr, index):
        return _faces(detector, predictor, bgr[:, :, ::-1].copy())[index][1]

    photos = {name: cv2.imread(str(src / name)) for name, _, _ in composite.SHOTS}
    portrait, mask = composite.build(photos, landmarks)
    # the camera scene: the head set on the hall wall itself, so no photo edge shows in the frame
    box, _ = _faces(detector, predictor, portrait[:, :, ::-1].copy())[0]
    s, ox, oy = scenes.placement([box], 250, (640, 300))
    size = (int(round(portrait.shape[1] * s)), int(round(portrait.shape[0] * s)))
    wall = scenes._wall(FRAME_W, FRAME_H).copy()
    person = np.zeros_like(wall)
    alpha = np.zeros(wall.shape[:2] + (1,), np.float32)
    scaled, m = cv2.resize(portrait, size, interpolation=cv2.INTER_AREA), cv2.resize(mask, size)[:, :, None]
    x0, y0, x1, y1 = max(0, ox), max(0, oy), min(FRAME_W, ox + size[0]), min(FRAME_H, oy + size[1])
    person[y0:y1, x0:x1] = scaled[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    alpha[y0:y1, x0:x1] = m[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return {"resident": composite.on_backdrop(person, alpha, wall),
            "resident_id": composite.other_picture(composite.on_backdrop(portrait, mask))}


def main(src_dir: str) -> None:
    src = Path(src_dir)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_dir() / "shape_predictor_68_face_landmarks.dat"))
    meta: dict = {"frame": [FRAME_W, FRAME_H], "scenes": {}, "id_photos": {}}
    made = synthetic(src, detector, predictor)

    def read(photo: str) -> np.ndarray:
        return made[photo] if photo in made else cv2.imread(str(src / photo))

    for name, (photo, face_w, centre) in SCENES.items():
        bgr = read(photo)
        faces = _faces(detector, predictor, bgr[:, :, ::-1].copy())
        s, ox, oy = scenes.placement([box for box, _ in faces], face_w, centre)
        if photo in made:  # already a whole frame on the wall: kept as it is
            s, ox, oy = 1.0, 0, 0
        scaled = cv2.resize(bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        # keep only the part of the scaled photo that lands inside the frame
        x0, y0 = max(0, -ox), max(0, -oy)
        x1, y1 = min(scaled.shape[1], FRAME_W - ox), min(scaled.shape[0], FRAME_H - oy)
        cv2.imwrite(str(HERE / f"{name}.jpg"), scaled[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        entry = {"file": f"{name}.jpg", "at": [ox + x0, oy + y0], "faces": []}
        # eye outlines as the predictor sees them in the finished frame
        frame = bgr if photo in made else scenes.compose(bgr, [box for box, _ in faces], face_w, centre)
        for box, pts in _faces(detector, predictor, frame[:, :, ::-1].copy()):
            entry["faces"].append({
                "box": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                "eyes": [np.round(pts[36:42]).astype(int).tolist(), np.round(pts[42:48]).astype(int).tolist()],
            })
        meta["scenes"][name] = entry
    for name, photo in ID_PHOTOS.items():
        bgr = read(photo)
        box, _ = max(_faces(detector, predictor, bgr[:, :, ::-1].copy()), key=lambda f: f[0][2] - f[0][0])
        card = scenes.id_card_crop(bgr, box)
        cv2.imwrite(str(HERE / f"id_{name}.jpg"), card, [cv2.IMWRITE_JPEG_QUALITY, 85])
        meta["id_photos"][name] = f"id_{name}.jpg"
        if name == "resident":  # the ID-card simulator's photo of the sample card
            cv2.imwrite(str(CARD_PHOTOS / "resident.png"), card)
    (HERE / "scenes.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[2] / "tests" / "data" / "faces"))
