"""Liveness: real blinks and turns against printed photos held to the camera.

For each test photo (as the kiosk camera sees it) and each condition (plain,
blur, motion blur, low light with sensor noise, drawn glasses, glasses in low
light):

  blink   a clip with the eyes shut for three frames (scenes.close_eyes):
          the eye-region change while shut, margin = change - closed_change
          (positive: passes with room).
  attacks a still frame printed and shown (variants.held_photo):
          "still"  held almost still (a few pixels of shake), 12 frames;
          "gentle" tipped slowly, up to 9 degrees each way, 24 frames;
          "held"   drifting, turned up to 12 degrees, tipped up to 30 and
                   swung 35 degrees, 24 frames (blink and turn modes).
          Margin = closed_change - the largest eye change the checker
          counted; "flat" = frames whose landmarks moved as a rigid plane.
  turn    obama_2 turned further each way (scenes.turn_head); margin = the
          smaller of |yaw| reached each way - turn_yaw.

Prints per-attack outcomes and the smallest margins. Exits 0 only when every
real blink and turn passes and every attack fails; 1 otherwise. Deterministic.

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
from devices.face.liveness import LivenessChecker  # noqa: E402
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


def held_poses(n: int = 24, amount: float = 1.0) -> list[dict]:
    """A hand holding a print: drifting, nearer and farther, turned up to 12 degrees, tipped up to 30."""
    out = []
    for i in range(n):
        t = i / n * 2 * np.pi
        out.append(dict(dx=40 * amount * np.sin(t), dy=20 * amount * np.sin(2 * t),
                        scale=1 + 0.1 * amount * np.sin(1.5 * t), rotate=12 * amount * np.sin(1.3 * t),
                        tilt=30 * amount * np.sin(0.9 * t), pan=35 * amount * np.cos(t)))
    return out


def measures(verifier: FaceVerifier, frames: list[np.ndarray]) -> tuple[list[float], list[float]]:
    yaws = []
    for f in frames:
        a = verifier.analyse(f, landmarks="68")
        if a.landmarks is not None:
            yaws.append(q.yaw(a.landmarks))
    return [], yaws


def run(verifier: FaceVerifier, mode: str, frames: list[np.ndarray]) -> tuple[bool, dict]:
    checker = LivenessChecker(mode, seconds=None, verifier=verifier)
    for i, f in enumerate(frames):
        checker.feed(f, ts=i / 15)
    return checker.result()[0], checker.stats()


def attacks(opened: np.ndarray, cond: str) -> dict[str, list[np.ndarray]]:
    shake = [(0, 0), (3, -2), (-2, 4), (5, 1)] * 3
    return {
        "still": [camera(va.held_photo(opened, dx=dx, dy=dy), cond, i) for i, (dy, dx) in enumerate(shake)],
        "gentle": [camera(va.held_photo(opened, **pose), cond, i) for i, pose in enumerate(held_poses(amount=0.3))],
        "held": [camera(va.held_photo(opened, **pose), cond, i) for i, pose in enumerate(held_poses())],
    }


def blink_rows(verifier: FaceVerifier, faces: Path, closed: float, worst: dict) -> int:
    wrong = 0
    print(f"{'photo':9s} {'condition':18s} {'blink':>14s}   {'still':>13s} {'gentle':>13s} {'held':>13s} "
          f"{'held/turn':>9s}  outcome")
    for name in PHOTOS:
        photo = cv2.imread(str(faces / f"{name}.jpg"))
        frame = scenes.compose(photo, verifier.analyse(photo).faces)
        pts = verifier.analyse(frame, landmarks="68").landmarks
        shut = scenes.close_eyes(frame.copy(), [pts[36:42], pts[42:48]])
        for cond in CONDITIONS:
            opened, closed_eyes = wear(frame, cond, pts), wear(shut, cond, pts)
            clip = [np.roll(opened, (i % 3 - 1) * 2, axis=1) for i in range(6)] + [closed_eyes] * 3 + [opened] * 6
            live, st = run(verifier, "blink", [camera(f, cond, i) for i, f in enumerate(clip)])
            margin = st.get("eye_change_max", 0.0) - closed
            worst["blink"] = min(worst["blink"], margin)
            notes = [] if live else ["blink missed"]
            cells = []
            for attack, frames in attacks(opened, cond).items():
                passed, ast = run(verifier, "blink", frames)
                m = closed - ast.get("eye_change_max", 0.0)
                worst[attack] = min(worst[attack], m)
                cells.append(f"{m:+.3f} f{ast.get('flat_frames', 0):<3d}")
                if passed:
                    notes.append(f"{attack} print passed blink")
                if attack == "held":
                    turned, _ = run(verifier, "turn", frames)
                    if turned:
                        notes.append("held print passed turn")
            ok = not notes
            wrong += not ok
            turn_cell = "PASSED" if "held print passed turn" in notes else "refused"
            print(f"{name:9s} {cond:18s} {st.get('eye_change_max', 0):6.3f} {margin:+7.3f}   "
                  + " ".join(f"{c:>13s}" for c in cells) + f" {turn_cell:>9s}  "
                  + ("ok" if ok else "WRONG (" + ", ".join(notes) + ")"))
    return wrong


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
    closed, turn_yaw = ref.closed_change, ref.turn_yaw
    print(f"blink: eye change >= {closed} while shut, face still within {ref.move_gate} of an eye span, "
          f"refused after {ref.flat_frames} flat frames; turn: yaw past -{turn_yaw} and +{turn_yaw}")
    print("attack cells: margin (closed_change - largest eye change counted) and flat frames seen")
    worst = {"blink": 1.0, "still": 1.0, "gentle": 1.0, "held": 1.0, "turn": 1.0}
    wrong = blink_rows(verifier, faces, closed, worst)
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
        passed, _ = run(verifier, "turn", clip)
        wrong += not passed
        worst["turn"] = min(worst["turn"], margin)
        print(f"turn clip {cond:18s} yaw {min(yaws):+.3f}..{max(yaws):+.3f}  margin {margin:+.3f}  "
              f"{'ok' if passed else 'WRONG (turn missed)'}")
    print("\nsmallest margins: " + ", ".join(f"{k} {v:+.3f}" for k, v in worst.items()) + f"; wrong outcomes: {wrong}")
    verifier.close()
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
