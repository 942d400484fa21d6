"""The face decision rule: two thresholds with an uncertain band, and frame fusion.

A distance below ``accept_below`` is a match, above ``reject_above`` is not;
in between the kiosk does not guess: it takes more frames. One attempt
collects at least ``min_frames`` frames that passed the quality gates and
fuses them (the median distance of the ``fuse_best`` sharpest, most frontal
frames); if the fused distance is still in the band, it goes on up to
``max_frames`` frames, and a band that never clears is "no match" (the
resident retries or takes the non-face way, which is always offered: a false
reject costs a minute, a false accept hands someone else's case over).

The defaults come from benchmarks/face_calibration.py (docs/face.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

ACCEPT, REJECT, UNCERTAIN = "accept", "reject", "uncertain"

DEFAULT_ACCEPT_BELOW = 0.55
DEFAULT_REJECT_ABOVE = 0.62


@dataclass(frozen=True)
class Rule:
    accept_below: float = DEFAULT_ACCEPT_BELOW
    reject_above: float = DEFAULT_REJECT_ABOVE
    min_frames: int = 3
    max_frames: int = 5
    fuse_best: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.accept_below <= self.reject_above < 1.0:
            raise ValueError("face rule needs 0 < accept_below <= reject_above < 1")
        if not 1 <= self.min_frames <= self.max_frames or not 1 <= self.fuse_best <= self.max_frames:
            raise ValueError("face rule needs 1 <= min_frames <= max_frames and 1 <= fuse_best <= max_frames")

    @classmethod
    def from_config(cls, config) -> Rule:
        get = config.get
        return cls(accept_below=float(get("face.accept_below", DEFAULT_ACCEPT_BELOW)),
                   reject_above=float(get("face.reject_above", DEFAULT_REJECT_ABOVE)),
                   min_frames=int(get("face.min_frames", 3)), max_frames=int(get("face.max_frames", 5)),
                   fuse_best=int(get("face.fuse_best", 3)))

    def classify(self, distance: float) -> str:
        """accept, reject or uncertain for one (frame or fused) distance."""
        if distance < self.accept_below:
            return ACCEPT
        if distance > self.reject_above:
            return REJECT
        return UNCERTAIN

    def fuse(self, frames: Iterable[tuple[float, float]]) -> float:
        """Median distance of the ``fuse_best`` best frames; ``frames`` are (quality score, distance)."""
        ranked = sorted(frames, key=lambda f: -f[0])
        if not ranked:
            raise ValueError("no frames to fuse")
        return float(statistics.median(d for _, d in ranked[:self.fuse_best]))

    def settle(self, frames: list[tuple[float, float]]) -> tuple[str | None, float | None]:
        """(verdict, fused distance) after the frames seen so far; verdict None means: take another frame.

        An uncertain fused distance after ``max_frames`` frames is a reject.
        """
        if len(frames) < self.min_frames:
            return None, None
        fused = self.fuse(frames)
        verdict = self.classify(fused)
        if verdict == UNCERTAIN:
            if len(frames) < self.max_frames:
                return None, fused
            return REJECT, fused
        return verdict, fused

    def as_dict(self) -> dict:
        return {"accept_below": self.accept_below, "reject_above": self.reject_above,
                "min_frames": self.min_frames, "max_frames": self.max_frames, "fuse_best": self.fuse_best}


def frame_score(metrics: dict) -> float:
    """How much a frame is worth in fusion: sharper, more frontal and larger faces first."""
    sharp = min(float(metrics.get("sharpness", 0.0)), 600.0) / 600.0
    frontal = 1.0 - min(abs(float(metrics.get("yaw", 0.0))), 0.5) * 2.0
    size = min(float(metrics.get("face_px", 0.0)), 300.0) / 300.0
    return sharp + frontal + 0.5 * size
