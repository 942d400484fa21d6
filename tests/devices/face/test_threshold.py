"""The configured rule against real distances: impostors near the line are refused,
distances just either side of each threshold land on the right side."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from devices.camera import scenes
from devices.camera.scenes import variants
from devices.face.rule import ACCEPT, REJECT, UNCERTAIN, Rule
from devices.face.session import MORE, FaceSession
from devices.face.verifier import IdFace
from kiosk.core.config import load_config

SINGLE = ("obama_1", "obama_2", "obama_3_480p", "biden_1", "biden_2")
SAME_SHOT = {frozenset(("obama_1", "obama_3_480p"))}  # obama_3_480p is a smaller copy of obama_1's shot


def person(name: str) -> str:
    return name.split("_")[0]


@pytest.fixture(scope="module")
def rule():
    return Rule.from_config(load_config())


@pytest.fixture(scope="module")
def frames(photos, verifier):
    """Each photo as the kiosk camera sees it (1280x720), with its 68 landmarks in the photo."""
    out = {}
    for name in SINGLE:
        a = verifier.analyse(photos[name], landmarks="68")
        out[name] = (scenes.compose(photos[name], a.faces), a.landmarks, a.faces)
    return out


@pytest.fixture(scope="module")
def distances(verifier, id_faces, frames):
    """Card crop of one photo against the camera frame of another, every ordered pair."""
    out = {}
    for a, b in itertools.permutations(SINGLE, 2):
        d = verifier.verify(id_faces[a], frames[b][0])
        assert d.compared, (a, b, d.quality)
        out[(a, b)] = d.distance
    return out


@pytest.fixture(scope="module")
def morphs(verifier, id_faces, photos, frames):
    """A face that is 60% someone else's (their features blended into the card holder's other
    photo) against the card holder's card: the nearest impostors these photos give."""
    out = {}
    for base, claimed, card in (("biden_1", "obama_1", "obama_2"), ("biden_2", "obama_2", "obama_1"),
                                ("obama_1", "biden_1", "biden_2"), ("obama_2", "biden_2", "biden_1")):
        blended = variants.morph(photos[base], frames[base][1], photos[claimed], frames[claimed][1], 0.4)
        d = verifier.verify(id_faces[card], scenes.compose(blended, frames[base][2]))
        assert d.compared, d.quality
        out[(base, claimed, card)] = d.distance
    return out


def test_genuine_pairs_are_accepted_and_impostors_rejected_outright(rule, distances):
    genuine = {k: d for k, d in distances.items() if person(k[0]) == person(k[1])}
    impostor = {k: d for k, d in distances.items() if person(k[0]) != person(k[1])}
    assert all(rule.classify(d) == ACCEPT for d in genuine.values()), genuine
    assert all(rule.classify(d) == REJECT for d in impostor.values()), impostor


def test_thresholds_sit_between_the_measured_distances(rule, distances, morphs):
    """Both thresholds are checked against real distances: a loose rule (say 0.8) accepts
    the closest different-person pairs; a tight one (say 0.3) rejects the same person."""
    independent = [d for (a, b), d in distances.items()
                   if person(a) == person(b) and frozenset((a, b)) not in SAME_SHOT]
    impostor = [d for (a, b), d in distances.items() if person(a) != person(b)]
    nearest = min(impostor + list(morphs.values()))
    assert max(independent) < rule.accept_below, "a genuine pair of independent photos would be refused"
    assert rule.accept_below <= nearest - 0.03, \
        f"accepting up to {rule.accept_below} is too close to an impostor at {nearest:.3f}"
    assert rule.reject_above < min(impostor), "a different person would only be 'uncertain'"


def test_nearest_impostors_are_never_accepted_even_after_more_frames(verifier, id_faces, photos, frames, morphs, rule):
    base, claimed, card = min(morphs, key=morphs.get)  # the closest look-alike of these photos
    blended = variants.morph(photos[base], frames[base][1], photos[claimed], frames[claimed][1], 0.4)
    shown = scenes.compose(blended, frames[base][2])
    session = FaceSession(verifier, id_faces[card], max_attempts=1)
    seen = []
    for dx in range(rule.max_frames):
        d = session.attempt(np.roll(shown, 2 * dx, axis=1))  # the look-alike sways a little
        seen.append(d)
        if d.decided:
            break
    assert seen[-1].decided and not seen[-1].match and session.alternative_required
    assert all(not d.match for d in seen)


def _id_at(verifier, frame, distance: float) -> IdFace:
    """An ID encoding exactly ``distance`` from the frame's own encoding."""
    a = verifier.analyse(frame)
    from devices.face.verifier import _chip

    live = verifier.encode_chip(_chip(a.crop, a.shape))
    direction = np.random.default_rng(7).normal(size=128)
    return IdFace(live + direction / np.linalg.norm(direction) * distance, {}, (102, 126))


@pytest.mark.parametrize("where,offset,verdict", [
    ("accept_below", -0.002, ACCEPT), ("accept_below", +0.002, UNCERTAIN),
    ("reject_above", -0.002, UNCERTAIN), ("reject_above", +0.002, REJECT),
])
def test_a_distance_just_either_side_of_a_threshold(verifier, rule, where, offset, verdict):
    frame = scenes.render("obama")
    target = getattr(rule, where) + offset
    d = verifier.verify(_id_at(verifier, frame, target), frame)
    assert d.distance == pytest.approx(target, abs=1e-6)
    assert d.verdict == verdict and d.match == (verdict == ACCEPT)


def test_uncertain_frames_take_more_frames_then_refuse(verifier, rule):
    frame = scenes.render("obama")
    middle = (rule.accept_below + rule.reject_above) / 2
    session = FaceSession(verifier, _id_at(verifier, frame, middle), max_attempts=2)
    verdicts = [session.attempt(frame).verdict for _ in range(rule.max_frames)]
    assert verdicts == [MORE] * (rule.max_frames - 1) + [REJECT]
    assert session.last.frames == pytest.approx([middle] * rule.max_frames, abs=1e-6)
    assert session.attempts == 1 and not session.matched and session.remaining == 1


def test_a_clear_match_needs_the_fused_frames_not_one(verifier, rule):
    frame = scenes.render("obama")
    session = FaceSession(verifier, _id_at(verifier, frame, rule.accept_below - 0.1))
    verdicts = [session.attempt(frame).verdict for _ in range(rule.min_frames)]
    assert verdicts == [MORE] * (rule.min_frames - 1) + [ACCEPT]
    assert session.matched and session.last.match and len(session.last.frames) == rule.min_frames


def test_fusion_takes_the_median_of_the_best_frames():
    r = Rule(0.5, 0.6, min_frames=3, max_frames=5, fuse_best=3)
    # (quality score, distance): a blurred frame (low score) with a lucky low distance is left out
    frames = [(2.0, 0.52), (0.3, 0.30), (1.9, 0.58), (1.8, 0.49), (0.2, 0.31)]
    assert r.fuse(frames) == pytest.approx(0.52)
    assert r.settle(frames[:2]) == (None, None)
    assert r.settle(frames[:3])[0] is None  # in the band, fewer than five frames: more
    assert r.settle(frames)[0] == REJECT  # still in the band after five: no match
    with pytest.raises(ValueError):
        Rule(0.6, 0.5)
