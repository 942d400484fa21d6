"""Shared, module-cached face fixtures (encodings cost ~0.1-1 s each)."""

from __future__ import annotations

import pytest

pytest.importorskip("dlib")
pytest.importorskip("face_recognition_models")

import cv2  # noqa: E402

from devices.camera import scenes  # noqa: E402
from devices.face.verifier import FaceVerifier  # noqa: E402

SINGLE = ("obama_1", "obama_2", "obama_3_480p", "biden_1", "biden_2")


@pytest.fixture(scope="session")
def verifier():
    v = FaceVerifier()
    v.warm_up()
    yield v
    v.close()


@pytest.fixture(scope="session")
def photos(faces_dir_session):
    return {p.stem: cv2.imread(str(p)) for p in sorted(faces_dir_session.glob("*.jpg"))}


@pytest.fixture(scope="session")
def faces_dir_session():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "data" / "faces"  # tests/data/faces


@pytest.fixture(scope="session")
def id_faces(verifier, photos):
    """ID-card-sized (102x126) photos cut from each single-face test photo, encoded once."""
    out = {}
    for name in SINGLE:
        a = verifier.analyse(photos[name])
        out[name] = verifier.encode_id_photo(scenes.id_card_crop(photos[name], a.faces[0]))
    yield out
    for f in out.values():
        f.wipe()
