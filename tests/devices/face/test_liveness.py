"""Liveness: a still photo fails, a blink passes (clips made from the test photos)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from devices.camera import scenes
from devices.camera.scenes import variants
from devices.face.liveness import LivenessChecker
from kiosk.cli import cli


@pytest.fixture(scope="module")
def obama_frame(photos, verifier):
    """obama_2 as the kiosk camera would see it (a photo not used by the packaged scenes)."""
    a = verifier.analyse(photos["obama_2"])
    return scenes.compose(photos["obama_2"], a.faces)


@pytest.fixture(scope="module")
def blink_clip(obama_frame, verifier):
    """Eyes open, shut for three frames (eye regions painted over), open again."""
    pts = verifier.analyse(obama_frame, landmarks="68").landmarks
    shut = scenes.close_eyes(obama_frame.copy(), [pts[36:42], pts[42:48]])
    return [obama_frame] * 5 + [shut] * 3 + [obama_frame] * 5


def run(checker, frames, fps=15.0):
    for i, frame in enumerate(frames):
        checker.feed(frame, ts=i / fps)
    return checker.result()


def write_clip(path, frames, fps=15.0):
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def test_still_photo_fails(verifier, obama_frame):
    live, reason = run(LivenessChecker("blink", seconds=None, verifier=verifier), [obama_frame] * 12)
    assert not live and reason == "face.liveness.no_blink"


def test_shaken_photo_fails(verifier, obama_frame):
    # a printed photo held in a hand moves a little between frames
    frames = [np.roll(obama_frame, (dy, dx), axis=(0, 1)) for dy, dx in [(0, 0), (3, -2), (-2, 4), (5, 1)] * 3]
    live, _ = run(LivenessChecker("blink", seconds=None, verifier=verifier), frames)
    assert not live


def held_up(frame, n=18):
    """A print of ``frame`` held to the camera by hand: drifting, nearer and farther, turned in
    plane by up to 8 degrees and tipped back and forth by up to 20, the way a card wobbles."""
    out = []
    for i in range(n):
        t = 2 * np.pi * i / n
        out.append(variants.held_photo(frame, dx=40 * np.sin(t), dy=20 * np.sin(2 * t), scale=1 + 0.1 * np.sin(1.5 * t),
                                       rotate=8 * np.sin(1.3 * t), tilt=20 * np.sin(0.9 * t), pan=20 * np.cos(t)))
    return out


@pytest.mark.parametrize("mode", ["blink", "turn"])
def test_printed_photo_held_to_the_camera_fails(verifier, obama_frame, mode):
    checker = LivenessChecker(mode, seconds=None, verifier=verifier)
    live, reason = run(checker, held_up(obama_frame))
    assert checker.with_face == checker.frames  # the face was seen all along, and still refused
    assert not live and reason == f"face.liveness.no_{mode}"


def test_printed_photo_with_glasses_tipped_hard_fails_but_a_blink_with_glasses_passes(verifier, obama_frame):
    # glasses used to pull the eyelid landmarks enough for a print tipped 30 degrees to "blink";
    # the eyes are now compared with themselves on the face's own plane, and a plane is refused
    pts = verifier.analyse(obama_frame, landmarks="68").landmarks
    worn = variants.draw_glasses(obama_frame, pts)
    frames = [variants.held_photo(worn, dx=40 * np.sin(t), rotate=12 * np.sin(1.3 * t), tilt=30 * np.sin(0.9 * t),
                                  pan=35 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 18, endpoint=False)]
    checker = LivenessChecker("blink", seconds=None, verifier=verifier)
    assert run(checker, frames) == (False, "face.liveness.no_blink")
    assert checker.stats()["flat_frames"] >= 3  # seen to move as a rigid plane
    shut = variants.draw_glasses(scenes.close_eyes(obama_frame.copy(), [pts[36:42], pts[42:48]]), pts)
    blink = LivenessChecker("blink", seconds=None, verifier=verifier)
    assert run(blink, [worn] * 5 + [shut] * 3 + [worn] * 5) == (True, "face.liveness.ok")


def test_printed_photo_of_a_frontal_face_cannot_fake_a_turn(verifier, photos):
    # turned in plane and swung side to side, a flat face never shows a turned head
    frame = scenes.compose(photos["biden_2"], verifier.analyse(photos["biden_2"]).faces)
    frames = [variants.held_photo(frame, rotate=r, pan=p) for r, p in [(-15, -30), (15, 30), (-15, 30), (15, -30)]]
    checker = LivenessChecker("turn", seconds=None, verifier=verifier)
    assert run(checker, frames) == (False, "face.liveness.no_turn")
    low, high = checker.stats()["yaw_range"]
    assert max(-low, high) < 0.15


def test_blink_passes(verifier, blink_clip):
    checker = LivenessChecker("blink", seconds=None, verifier=verifier)
    assert run(checker, blink_clip) == (True, "face.liveness.ok")
    assert checker.done and checker.progress() == 1.0


def test_window_runs_out(verifier, obama_frame):
    checker = LivenessChecker("blink", seconds=1.0, verifier=verifier)
    run(checker, [obama_frame] * 20, fps=10.0)  # stops feeding after one second
    assert checker.done and checker.frames <= 12


def test_head_turn_mode_rejects_a_still_photo(verifier, obama_frame):
    live, reason = run(LivenessChecker("turn", seconds=None, verifier=verifier), [obama_frame] * 6)
    assert not live and reason == "face.liveness.no_turn"


@pytest.fixture(scope="module")
def turn_clip(obama_frame, verifier):
    """obama_2 turned further to one side, then (mirrored) to the other: yaw about -0.32 ... +0.31."""
    one_way = scenes.turn_head(obama_frame, verifier.analyse(obama_frame, landmarks="68").landmarks, -0.3)
    mirrored = cv2.flip(obama_frame, 1)
    other_way = scenes.turn_head(mirrored, verifier.analyse(mirrored, landmarks="68").landmarks, 0.2)
    return [obama_frame] * 3 + [one_way] * 3 + [obama_frame] * 2 + [other_way] * 3


def test_head_turn_both_ways_passes(verifier, turn_clip):
    checker = LivenessChecker("turn", seconds=None, verifier=verifier)
    assert run(checker, turn_clip) == (True, "face.liveness.ok")
    low, high = checker.stats()["yaw_range"]
    assert low <= -0.25 and high >= 0.25  # clear of the 0.2 threshold, not scraping past it


def test_head_turn_one_way_only_fails(verifier, turn_clip):
    checker = LivenessChecker("turn", seconds=None, verifier=verifier)
    assert run(checker, turn_clip[:6]) == (False, "face.liveness.no_turn")
    assert checker.progress() == 0.5  # the screen shows "now the other way"


def test_head_turn_clip_is_no_blink(verifier, turn_clip):
    assert run(LivenessChecker("blink", seconds=None, verifier=verifier), turn_clip) == \
        (False, "face.liveness.no_blink")


def test_nobody_there_and_two_people(verifier):
    assert run(LivenessChecker("blink", None, verifier), [scenes.render("empty")] * 4)[1] == "face.liveness.no_face"
    assert run(LivenessChecker("blink", None, verifier), [scenes.render("two_people")] * 4)[1] == \
        "face.liveness.several_faces"


def test_off_mode_passes_without_frames():
    checker = LivenessChecker("off")
    assert checker.done and checker.result() == (True, "face.liveness.off")


def test_packaged_blink_scene_passes(verifier):
    assert run(LivenessChecker("blink", None, verifier), scenes.blink_sequence("biden_blink"))[0]


def test_liveness_cli_on_video_clips(tmp_path, blink_clip, obama_frame):
    runner = CliRunner()
    blink = write_clip(tmp_path / "blink.avi", blink_clip)
    still = write_clip(tmp_path / "still.avi", [obama_frame] * 10)
    res = runner.invoke(cli, ["face", "liveness", str(blink), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["live"] is True
    res = runner.invoke(cli, ["face", "liveness", str(still), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["live"] is False and out["reason"] == "face.liveness.no_blink"
    res = runner.invoke(cli, ["face", "liveness", str(tmp_path / "none.avi")])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1


def test_liveness_cli_turn_mode_on_a_video_clip(tmp_path, turn_clip, obama_frame):
    runner = CliRunner()
    turn = write_clip(tmp_path / "turn.avi", turn_clip)
    res = runner.invoke(cli, ["face", "liveness", str(turn), "--mode", "turn", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["live"] is True and out["mode"] == "turn"
    still = write_clip(tmp_path / "still.avi", [obama_frame] * 10)
    res = runner.invoke(cli, ["face", "liveness", str(still), "--mode", "turn"])
    assert res.exit_code == 0 and "live: no" in res.stdout and "turn" in res.stdout.lower()
