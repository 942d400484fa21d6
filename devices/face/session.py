"""One resident's face attempts: several good frames fused into each decision."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .rule import ACCEPT, Rule
from .verifier import Decision, FaceVerifier, IdFace

MORE = "more"  # verdict while an attempt still collects frames


class FaceSession:
    """Attempts for one person against the card photo.

    ``attempt(frame)`` takes one camera frame. A frame refused by a quality
    gate is guidance ("move closer"): nothing is counted. A compared frame
    joins the current attempt; the attempt ends when the rule settles on the
    fused distance of its frames (``Rule.settle``), and only then is it
    counted. The returned ``Decision`` is then the fused one (``frames``
    holds the frame distances); before that its verdict is "more".
    """

    def __init__(self, verifier: FaceVerifier, id_face: IdFace, max_attempts: int = 3, rule: Rule | None = None):
        self.verifier = verifier
        self.id_face = id_face
        self.rule = rule or verifier.rule
        self.max_attempts = int(max_attempts)
        self.attempts = 0
        self.last: Decision | None = None
        self.matched = False
        self._frames: list[tuple[float, float]] = []  # (score, distance) of the current attempt
        self._ms = 0.0

    @property
    def alternative_required(self) -> bool:
        """True after ``max_attempts`` decided attempts without a match."""
        return not self.matched and self.attempts >= self.max_attempts

    @property
    def remaining(self) -> int:
        return max(0, self.max_attempts - self.attempts)

    @property
    def collected(self) -> int:
        """Compared frames in the attempt under way."""
        return len(self._frames)

    def attempt(self, frame_bgr: np.ndarray) -> Decision:
        if self.matched or self.alternative_required:
            raise RuntimeError("face session is finished")
        decision = self.verifier.verify(self.id_face, frame_bgr)
        self._ms += decision.timings_ms.get("decision_ms", 0.0)
        if not decision.compared:
            self.last = decision
            return decision
        self._frames.append((decision.score or 0.0, decision.distance))
        verdict, fused = self.rule.settle(self._frames)
        if verdict is None:
            self.last = replace(decision, match=False, verdict=MORE)
            return self.last
        self.attempts += 1
        self.matched = verdict == ACCEPT
        frames = tuple(d for _, d in self._frames)
        self.last = Decision(self.matched, fused, verdict, decision.rule, [],
                             {"decision_ms": self._ms, "frames": float(len(frames))}, None, frames)
        self._frames, self._ms = [], 0.0
        return self.last

    def wipe(self) -> None:
        self._frames = []
        self.id_face.wipe()
