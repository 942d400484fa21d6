"""Verification decisions on the face_recognition test photos."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from devices.camera import scenes
from devices.face import quality as q
from devices.face.rule import ACCEPT, REJECT
from devices.face.session import MORE
from devices.face.verifier import FaceError, FaceSession, FaceVerifier, load_image
from devices.idcard import wlt
from kiosk.core.config import load_config

SINGLE = ("obama_1", "obama_2", "obama_3_480p", "biden_1", "biden_2")


def person(name: str) -> str:
    return name.split("_")[0]


SAME = [(a, b) for a, b in itertools.permutations(SINGLE, 2) if person(a) == person(b)]
DIFFERENT = [(a, b) for a, b in itertools.permutations(SINGLE, 2) if person(a) != person(b)]


@pytest.mark.parametrize("id_name,live_name", SAME)
def test_same_person_pairs_match(verifier, id_faces, photos, id_name, live_name):
    d = verifier.verify(id_faces[id_name], photos[live_name])
    assert d.compared and d.quality == []
    assert d.match and d.verdict == ACCEPT, f"{id_name} vs {live_name}: distance {d.distance:.3f} over {d.rule}"


@pytest.mark.parametrize("id_name,live_name", DIFFERENT)
def test_different_people_do_not_match(verifier, id_faces, photos, id_name, live_name):
    d = verifier.verify(id_faces[id_name], photos[live_name])
    assert d.decided and not d.match
    assert d.verdict == REJECT and d.distance > d.rule[1]


def test_rule_is_the_configured_one():
    config = load_config()
    rule = FaceVerifier.from_config(config).rule
    assert (rule.accept_below, rule.reject_above) == (config.get("face.accept_below"), config.get("face.reject_above"))
    assert (rule.min_frames, rule.max_frames, rule.fuse_best) == (config.get("face.min_frames"),
                                                                  config.get("face.max_frames"),
                                                                  config.get("face.fuse_best"))


def test_two_people_asks_for_one_person(verifier, id_faces, photos):
    d = verifier.verify(id_faces["obama_1"], photos["two_people"])
    assert not d.match and d.distance is None and d.verdict is None
    assert d.quality == [q.SEVERAL_FACES]
    assert "只允许一人" in d.prompt.zh


def test_partial_face_gets_a_quality_reason(verifier, id_faces, photos):
    d = verifier.verify(id_faces["obama_1"], photos["obama_partial_face"])
    assert not d.compared and not d.match
    assert q.PARTIAL in d.quality


def test_kiosk_scenes_and_packaged_id_photos(verifier):
    obama = verifier.encode_id_photo(scenes.id_photo("obama"))
    assert verifier.verify(obama, scenes.render("obama")).match
    assert not verifier.verify(obama, scenes.render("biden")).match
    assert verifier.verify(obama, scenes.render("obama", 640, 480)).match
    empty = verifier.verify(obama, scenes.render("empty"))
    assert empty.quality == [q.NO_FACE] and empty.prompt.en


def test_demo_resident_is_nobody_real(verifier):
    # the simulator's default face is a synthetic composite: its card photo (a second picture of
    # it) verifies against the camera scene, and neither source person is taken for it
    card = verifier.encode_id_photo(wlt.packaged_photo("resident"))
    assert verifier.verify(card, scenes.render("resident")).verdict == ACCEPT
    for person in ("obama", "biden"):
        assert verifier.verify(card, scenes.render(person)).verdict == REJECT
        own_card = verifier.encode_id_photo(scenes.id_photo(person))
        assert verifier.verify(own_card, scenes.render("resident")).verdict == REJECT


def _far_away(frame):
    """The same scene seen from twice the distance."""
    out = scenes.render("empty")
    out[180:540, 320:960] = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
    return out


@pytest.mark.parametrize("spoil,reason", [
    (lambda f: cv2.GaussianBlur(f, (0, 0), 4), q.BLURRY),
    (lambda f: (f * 0.25).astype(np.uint8), q.TOO_DARK),
    (lambda f: np.hstack([f[:, 450:], scenes.render("empty")[:, :450]]), q.NOT_CENTRED),
    (_far_away, q.TOO_SMALL),
])
def test_quality_gates_name_the_problem(verifier, spoil, reason):
    obama = scenes.render("obama")
    d = verifier.analyse(spoil(obama))
    assert reason in d.quality, d.metrics


def test_unreadable_file(verifier, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(FaceError) as err:
        verifier.encode_id_photo(bad)
    assert err.value.key == "face.error.unreadable"
    with pytest.raises(FaceError):
        load_image(tmp_path / "missing.png")
    d = verifier.verify(verifier.encode_id_photo(scenes.id_photo("biden")), bad)
    assert not d.match and d.quality == ["face.error.unreadable"]


def test_id_photo_without_face(verifier):
    with pytest.raises(FaceError) as err:
        verifier.encode_id_photo(scenes.render("empty")[:126, :102])
    assert err.value.key == "face.error.id_no_face"


def test_id_face_is_never_shown_or_serialised(verifier):
    import pickle

    f = verifier.encode_id_photo_async(scenes.id_photo("obama")).result(timeout=60)
    assert "encoding" not in repr(f) and "[" not in repr(f)
    with pytest.raises(TypeError):
        pickle.dumps(f)
    f.wipe()
    assert f.wiped
    with pytest.raises(FaceError):
        verifier.verify(f, scenes.render("obama"))


def test_face_session_offers_the_alternative_after_three_failures(verifier):
    biden = verifier.encode_id_photo(scenes.id_photo("biden"))
    session = FaceSession(verifier, biden, max_attempts=3)
    # guidance frames (nobody there) are not attempts
    assert not session.attempt(scenes.render("empty")).compared
    assert session.attempts == 0 and not session.alternative_required
    for _ in range(3):
        verdicts = [session.attempt(scenes.render("obama")).verdict for _ in range(session.rule.min_frames)]
        assert verdicts == [MORE] * (session.rule.min_frames - 1) + [REJECT]  # several frames, one attempt
        assert not session.last.match and len(session.last.frames) == session.rule.min_frames
    assert session.attempts == 3 and session.remaining == 0
    assert session.alternative_required
    with pytest.raises(RuntimeError):
        session.attempt(scenes.render("biden"))
    session.wipe()
    assert biden.wiped


def test_face_session_match_ends_it(verifier):
    session = FaceSession(verifier, verifier.encode_id_photo(scenes.id_photo("biden")))
    frames = [scenes.render("biden"), scenes.render("empty"), np.roll(scenes.render("biden"), 4, axis=1),
              np.roll(scenes.render("biden"), -4, axis=1)]
    decisions = [session.attempt(f) for f in frames]
    assert [d.verdict for d in decisions] == [MORE, None, MORE, ACCEPT]  # nobody in view: guidance, not a frame
    assert decisions[-1].match and len(decisions[-1].frames) == 3
    assert session.matched and not session.alternative_required


def test_inline_encoder_gives_the_same_decision(photos, id_faces):
    with FaceVerifier(encoder="inline") as inline:
        d = inline.verify(id_faces["obama_2"], photos["obama_1"])
    assert d.match and d.verdict == ACCEPT
