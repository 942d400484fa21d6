"""Liveness margins: real blinks and turns against a printed photo held to the camera.

For each test photo (as the kiosk camera sees it) and each condition (plain,
blur, motion blur, low light with sensor noise, drawn glasses, glasses in low
light):

  blink  a clip with the eyes shut for three frames (scenes.close_eyes); the
         dip is the lowest eye openness while shut over the person's open
         level; margin = closed_ratio - dip (positive: passes with room).
  turn   obama_2 turned further each way (scenes.turn_head, as the tests
         do); margin = the smaller of |yaw| reached each way - turn_yaw.
  photo  a still frame printed and held up: moved, scaled, turned in plane
         and tilted (variants.held_photo) over 24 frames; the dip of eye
         openness over the open level, margin = dip - closed_ratio, and the
         yaw reached, margin = turn_yaw - (the weaker side).

Every row must keep a positive margin: a real blink or turn passes, the held
photo fails. Exits 1 otherwise. Deterministic.

    python benchmarks/face_liveness.py [--faces DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from devices.camera import scenes  # noqa: E402
from devices.camera.scenes import variants as va  # noqa: E402
from devices.face import quality as q  # noqa: E402
from devices.face.liveness import LivenessChecker, eye_openness  # noqa: E402
from devices.face.verifier import FaceVerifier  # noqa: E402

PHOTOS = ("obama_1", "obama_2", "biden_1", "biden_2")
CONDITIONS = ("plain", "blur", "motion-blur", "low-light", "glasses", "glasses+low-light")


def default_faces_dir() -> Path:
    return ROOT / "tests" / "data" / "faces"


def wear(frame: np.ndarray, cond: str, pts: np.ndarray) -> np.ndarray:
    return va.draw_glasses(frame, pts) if "glasses" in cond else frame


def camera(frame: np.ndarray, cond: str, seed: int) -> np.ndarray:
    """What the camera adds: blur, motion, low light with sensor noise."""
    if cond == "blur":
        frame = cv2.GaussianBlur(frame, (0, 0), 1.5)
    elif cond == "motion-blur":
        frame = va.motion_blur(frame, 9, 20.0)
    if "low-light" in cond:
        frame = va.low_light(frame, 0.5, 5.0, seed=seed)
    return frame


def held_poses(n: int = 24) -> list[dict]:
    """A hand holding a print: drifting, nearer and farther, turned up to 12 degrees, tilted up to 30."""
    out = []
    for i in range(n):
        t = i / n * 2 * np.pi
        out.append(dict(dx=40 * np.sin(t), dy=20 * np.sin(2 * t), scale=1 + 0.1 * np.sin(1.5 * t),
                        rotate=12 * np.sin(1.3 * t), tilt=30 * np.sin(0.9 * t), pan=35 * np.cos(t)))
    return out


def measures(verifier: FaceVerifier, frames: list[np.ndarray]) -> tuple[list[float], list[float]]:
    opens, yaws = [], []
    for f in frames:
        a = verifier.analyse(f, landmarks="68")
        if a.landmarks is not None:
            opens.append(eye_openness(a.landmarks))
            yaws.append(q.yaw(a.landmarks))
    return opens, yaws


def run(verifier: FaceVerifier, mode: str, frames: list[np.ndarray]) -> bool:
    checker = LivenessChecker(mode, seconds=None, verifier=verifier)
    for i, f in enumerate(frames):
        checker.feed(f, ts=i / 15)
    return checker.result()[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", default=str(default_faces_dir()))
    args = ap.parse_args()
    faces = Path(args.faces)
    if not faces.is_dir():
        print(f"test photos not found: {faces}", file=sys.stderr)
        return 2
    verifier = FaceVerifier(encoder="inline")
    ref = LivenessChecker("blink", seconds=None, verifier=verifier)
    closed, turn_yaw = ref.closed_ratio, ref.turn_yaw
    print(f"blink: shut below {closed} of the open level; turn: yaw past -{turn_yaw} and +{turn_yaw}")
    print(f"{'photo':9s} {'condition':18s} {'blink dip':>9s} {'margin':>7s} {'photo dip':>9s} {'margin':>7s} "
          f"{'photo yaw':>14s} {'margin':>7s}  outcome")
    worst = {"blink": 1.0, "photo": 1.0, "photo_yaw": 1.0, "turn": 1.0}
    wrong = 0
    for name in PHOTOS:
        photo = cv2.imread(str(faces / f"{name}.jpg"))
        frame = scenes.compose(photo, verifier.analyse(photo).faces)
        pts = verifier.analyse(frame, landmarks="68").landmarks
        shut = scenes.close_eyes(frame.copy(), [pts[36:42], pts[42:48]])
        for cond in CONDITIONS:
            opened, closed_eyes = wear(frame, cond, pts), wear(shut, cond, pts)
            clip = [np.roll(opened, (i % 3 - 1) * 2, axis=1) for i in range(6)] + [closed_eyes] * 3 + [opened] * 6
            clip = [camera(f, cond, i) for i, f in enumerate(clip)]
            opens, _ = measures(verifier, clip)
            dip = min(opens[6:9]) / np.percentile(opens, 90)
            still = [camera(va.held_photo(opened, **pose), cond, i) for i, pose in enumerate(held_poses())]
            s_opens, s_yaws = measures(verifier, still)
            s_dip = min(s_opens) / np.percentile(s_opens, 90)
            weaker = min(-min(s_yaws), max(s_yaws))
            blink_ok, photo_live = run(verifier, "blink", clip), run(verifier, "blink", still)
            photo_turn = run(verifier, "turn", still)
            ok = blink_ok and not photo_live and not photo_turn
            wrong += not ok
            worst["blink"] = min(worst["blink"], closed - dip)
            worst["photo"] = min(worst["photo"], s_dip - closed)
            worst["photo_yaw"] = min(worst["photo_yaw"], turn_yaw - weaker)
            print(f"{name:9s} {cond:18s} {dip:9.3f} {closed - dip:+7.3f} {s_dip:9.3f} {s_dip - closed:+7.3f} "
                  f"{min(s_yaws):+6.2f}..{max(s_yaws):+5.2f} {turn_yaw - weaker:+7.3f}  "
                  f"{'ok' if ok else 'WRONG'}{'' if blink_ok else ' (blink missed)'}"
                  f"{' (photo passed blink)' if photo_live else ''}{' (photo passed turn)' if photo_turn else ''}")
    photo = cv2.imread(str(faces / "obama_2.jpg"))
    frame = scenes.compose(photo, verifier.analyse(photo).faces)
    mirrored = cv2.flip(frame, 1)
    for cond in CONDITIONS:
        pts = verifier.analyse(frame, landmarks="68").landmarks
        one = scenes.turn_head(frame, pts, -0.3)
        other = scenes.turn_head(mirrored, verifier.analyse(mirrored, landmarks="68").landmarks, 0.2)
        clip = [camera(wear(f, cond, verifier.analyse(f, landmarks="68").landmarks), cond, i)
                for i, f in enumerate([frame] * 3 + [one] * 3 + [frame] * 2 + [other] * 3)]
        _, yaws = measures(verifier, clip)
        margin = min(-min(yaws), max(yaws)) - turn_yaw
        passed = run(verifier, "turn", clip)
        wrong += not passed
        worst["turn"] = min(worst["turn"], margin)
        print(f"turn clip {cond:18s} yaw {min(yaws):+.3f}..{max(yaws):+.3f}  margin {margin:+.3f}  "
              f"{'ok' if passed else 'WRONG (turn missed)'}")
    print(f"\nsmallest margins: blink {worst['blink']:+.3f}, held photo (blink) {worst['photo']:+.3f}, "
          f"held photo (turn) {worst['photo_yaw']:+.3f}, turn {worst['turn']:+.3f}; wrong outcomes: {wrong}")
    verifier.close()
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
