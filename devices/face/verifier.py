"""ID-photo-to-live-face verification on face_recognition's dlib models.

Pipeline for a live frame (see docs/face.md for the measurements):

1. HOG detection on a copy scaled down to ``detect_width`` (about 9 ms for
   480 px instead of 70-300 ms on the full frame); only when nothing is found
   there, one retry with dlib's 2x upsampling so a small (distant) face is
   reported as "come closer" rather than "no face".
2. The box is mapped back to full resolution; landmarks and the encoding are
   computed on a full-resolution crop around it (the encoder's 150 px chip
   keeps the detail the small copy lost). The encoding is dlib's network run
   on numpy (resnet.py: the same descriptor in ~12 ms instead of ~75 ms);
   ``engine="dlib"`` keeps dlib's own forward pass.
3. Quality gates (quality.py) run before any encoding: one face, size and
   position, sharpness, brightness, frontal pose. A refused frame costs no
   encoding and counts as guidance, not as an attempt.
4. Euclidean distance to the ID encoding, judged by the rule (rule.py):
   accept, reject, or uncertain (take more frames; ``FaceSession`` fuses
   several frames before it decides).

The ID photo (~102x126 from the card) is encoded once, when the card is read,
by ``encode_id_photo_async``. Nothing here writes, logs or sends an image or
an encoding: ``IdFace`` keeps the encoding in memory (hidden from repr) until
``wipe()``; a ``Decision`` carries only the outcome, distance, reasons and
timings.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.core.i18n import Text, text

from . import quality as q
from .encoder import _chip, _encode_chip, _InlineEncoder, _points, _ProcessEncoder  # noqa: F401 (_chip re-exported)
from .models import ENCODER_MODEL, LANDMARKS_5, LANDMARKS_68, model_dir  # noqa: F401 (re-exported)
from .models import Models as _Models
from .rule import ACCEPT, REJECT, Rule, frame_score

log = logging.getLogger(__name__)
ENGINES = ("numpy", "dlib")


class FaceError(Exception):
    """A problem with an input image; ``str()`` is one English line."""

    def __init__(self, key: str, **kwargs: Any):
        self.text = text(key, **kwargs)
        super().__init__(self.text.en)

    @property
    def key(self) -> str:
        return self.text.key


def load_image(image: Any) -> np.ndarray:
    """BGR ndarray from an ndarray (BGR or grey), encoded bytes (JPEG/PNG/BMP) or a path."""
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.ndim == 3 and image.shape[2] == 4:
            return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
            return image
        raise FaceError("face.error.unreadable", name="array")
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = np.frombuffer(bytes(image), np.uint8)
        name = "image bytes"
    else:
        path = Path(os.fspath(image))
        name = str(path)
        try:
            data = np.fromfile(str(path), np.uint8)
        except OSError:
            raise FaceError("face.error.unreadable", name=name) from None
    frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if frame is None:
        raise FaceError("face.error.unreadable", name=name)
    return frame


class IdFace:
    """The ID photo's encoding, in memory only. ``wipe()`` at session end."""

    __slots__ = ("_encoding", "timings_ms", "size")

    def __init__(self, encoding: np.ndarray, timings_ms: dict, size: tuple[int, int]):
        self._encoding = encoding
        self.timings_ms = timings_ms
        self.size = size

    @property
    def encoding(self) -> np.ndarray:
        if self._encoding is None:
            raise FaceError("face.error.wiped")
        return self._encoding

    @property
    def wiped(self) -> bool:
        return self._encoding is None

    def wipe(self) -> None:
        if self._encoding is not None:
            self._encoding.fill(0.0)
            self._encoding = None

    def __repr__(self) -> str:  # never show the encoding
        return f"IdFace(size={self.size}, wiped={self.wiped})"

    def __reduce__(self):  # not picklable: an encoding must not leave memory
        raise TypeError("IdFace cannot be serialised")


@dataclass(frozen=True)
class Decision:
    """One frame's outcome, or (``frames`` set) an attempt's fused outcome.

    ``verdict``: accept, reject or uncertain (rule.py); "more" while a
    ``FaceSession`` still collects frames; None when the faces were not
    compared (a quality gate refused the frame: ``quality`` says why).
    """

    match: bool
    distance: float | None
    verdict: str | None
    rule: tuple[float, float]  # (accept_below, reject_above)
    quality: list[str] = field(default_factory=list)  # catalog keys; empty when the frame was usable
    timings_ms: dict = field(default_factory=dict)
    score: float | None = None  # the frame's worth in fusion (sharpness, pose, size)
    frames: tuple[float, ...] = ()  # the frame distances behind a fused decision

    @property
    def compared(self) -> bool:
        """True when faces were compared (the frame passed every quality gate)."""
        return self.distance is not None

    @property
    def decided(self) -> bool:
        """True for a final accept or reject."""
        return self.verdict in (ACCEPT, REJECT)

    @property
    def prompt(self) -> Text | None:
        """What to tell the person: the most important quality problem, if any."""
        return text(self.quality[0]) if self.quality else None

    def as_dict(self) -> dict:
        out = {
            "match": self.match,
            "verdict": self.verdict,
            "distance": None if self.distance is None else round(self.distance, 4),
            "accept_below": self.rule[0],
            "reject_above": self.rule[1],
            "quality": list(self.quality),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.frames:
            out["frames"] = [round(d, 4) for d in self.frames]
        return out


@dataclass
class FaceAnalysis:
    """One frame's faces and quality; landmarks are frame coordinates."""

    faces: list[tuple[int, int, int, int]]  # (left, top, right, bottom), full resolution
    landmarks: np.ndarray | None  # of the single face, shape (68, 2) or (5, 2)
    shape: Any  # dlib full_object_detection on ``crop`` (for the encoder)
    crop: np.ndarray | None  # RGB full-resolution crop around the face
    quality: list[str]
    metrics: dict
    timings_ms: dict


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


class FaceVerifier:
    """``engine``: "numpy" runs dlib's encoder network on numpy (resnet.py),
    "dlib" runs dlib's own forward pass. ``encoder``: where dlib's pass runs,
    "process" (a child process, so the GIL stays free) or "inline". The ID
    photo's jittered encoding always uses dlib (its jitter is part of dlib)."""

    def __init__(self, rule: Rule | None = None, *, threshold: float | None = None, detect_width: int = 480,
                 landmarks: str = "5", gates: q.Gates | None = None, id_jitters: int = 10,
                 encoder: str = "process", engine: str = "numpy"):
        if threshold is not None:  # one cut, no uncertain band (comparisons with other pipelines)
            rule = Rule(accept_below=threshold, reject_above=threshold)
        if landmarks not in ("68", "5"):
            raise ValueError("landmarks must be '68' or '5'")
        self.rule = rule or Rule()
        self.detect_width = int(detect_width)
        self.landmarks = landmarks
        self.gates = gates or q.Gates()
        self.id_jitters = int(id_jitters)
        if encoder not in ("process", "inline"):
            raise ValueError("encoder must be 'process' or 'inline'")
        if engine not in ENGINES:
            raise ValueError("engine must be 'numpy' or 'dlib'")
        self.engine = engine
        self._encoder = _ProcessEncoder() if encoder == "process" else _InlineEncoder()
        self._pool: cf.ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, config) -> FaceVerifier:
        return cls(Rule.from_config(config), engine=str(config.get("face.engine", "numpy")))

    @property
    def models(self) -> _Models:
        return _Models.get()

    def warm_up(self, full: bool = True, stop: threading.Event | None = None) -> None:
        """Load the models, check the numpy encoder against dlib and start the encoder process now
        (else the first decision pays ~0.5-1.6 s). ``full`` also rehearses one whole decision on
        a packaged synthetic frame, so the first resident's finds every cache and BLAS thread ready.
        ``stop`` set: return at the next stage boundary (the app is closing)."""
        stages = [self.models.load_for_frames, self._encoder.start, lambda: self.active_engine]
        for stage in stages + ([self._rehearse] if full else []):
            if stop is not None and stop.is_set():
                return
            stage()

    def _rehearse(self) -> None:
        from devices.camera import scenes

        frame = scenes.render("resident")
        blank = IdFace(np.zeros(128), {}, (0, 0))  # no card photo involved: nothing to keep or wipe
        self.verify(blank, frame)
        self.analyse(frame, landmarks="68")  # liveness' landmarks
        self.analyse(scenes.render("empty"))  # the detector's upsampling retry

    @property
    def active_engine(self) -> str:
        """The engine live frames are encoded with: "dlib" when numpy was asked for but failed its check."""
        if self.engine == "numpy" and self.models.reference is None and isinstance(self._encoder, _ProcessEncoder):
            self.models.reference = self._encoder  # the check runs dlib's encoder in the child
        return "numpy" if self.engine == "numpy" and self.models.net is not None else "dlib"

    def engine_status(self) -> dict:
        """For technicians: the engine asked for, the one in use, and why they differ."""
        active = self.active_engine
        return {"engine": self.engine, "active": active,
                "problem": self.models.net_error if active != self.engine else None}

    def encode_chip(self, chip: np.ndarray) -> np.ndarray:
        """One aligned 150x150 RGB chip -> encoding, in this process, with the active engine."""
        if self.active_engine == "numpy":
            return self.models.net.descriptor(chip)
        return _encode_chip(chip, 1)

    def _encode(self, crop: np.ndarray, shape, jitters: int) -> np.ndarray:
        if jitters <= 1 and self.active_engine == "numpy":
            # numpy's BLAS releases the GIL for the heavy part: no child process needed
            return self.encode_chip(_chip(crop, shape))
        return self._encoder.encode(crop, shape, jitters)

    def _landmarks(self, kind: str, rgb: np.ndarray, rect):
        """5 points here; 68 (liveness) where the encoder runs, which holds that model."""
        return self._encoder.landmarks68(rgb, rect) if kind == "68" else self.models.landmarks5(rgb, rect)

    # --- ID photo ----------------------------------------------------------
    def encode_id_photo(self, image: Any) -> IdFace:
        """Encode the card photo (ndarray, bytes or path). Tiny photos are
        upscaled so the HOG detector (80 px minimum) finds the face."""
        t0 = time.perf_counter()
        bgr = load_image(image)
        h, w = bgr.shape[:2]
        scale = max(1.0, 320.0 / min(h, w))
        big = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else bgr
        rgb = np.ascontiguousarray(big[:, :, ::-1])
        m = self.models
        rects = list(m.detector(rgb, 0)) or list(m.detector(rgb, 1))
        if not rects:
            raise FaceError("face.error.id_no_face")
        rect = max(rects, key=lambda r: r.width() * r.height())  # a card shows one face
        shape = self._landmarks(self.landmarks, rgb, rect)
        t1 = time.perf_counter()
        enc = self._encode(rgb, shape, self.id_jitters)
        return IdFace(enc, {"detect_ms": (t1 - t0) * 1000.0, "encode_ms": _ms(t1), "total_ms": _ms(t0)}, (w, h))

    def encode_id_photo_async(self, image: Any) -> cf.Future[IdFace]:
        """Start encoding in the background (call when the card is read)."""
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-id")
        return self._pool.submit(self.encode_id_photo, image)

    # --- live frames -------------------------------------------------------
    def _detect(self, bgr: np.ndarray) -> tuple[list[tuple[int, int, int, int]], dict]:
        m = self.models
        h, w = bgr.shape[:2]
        t0 = time.perf_counter()
        scale = min(1.0, self.detect_width / w)
        small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)  # HOG works on grey; a third of the data
        rects = list(m.detector(grey, 0))
        timings = {"detect_ms": _ms(t0)}
        if not rects:
            t1 = time.perf_counter()
            rects = list(m.detector(grey, 1))
            timings["detect_retry_ms"] = _ms(t1)
        inv = 1.0 / scale
        boxes = [(int(r.left() * inv), int(r.top() * inv), int((r.right() + 1) * inv), int((r.bottom() + 1) * inv))
                 for r in rects]
        return boxes, timings

    def analyse(self, frame_bgr: np.ndarray, landmarks: str | None = None) -> FaceAnalysis:
        """Detect, locate landmarks and apply the quality gates (no encoding)."""
        frame = load_image(frame_bgr)
        boxes, timings = self._detect(frame)
        h, w = frame.shape[:2]
        if len(boxes) != 1:
            reason = q.NO_FACE if not boxes else q.SEVERAL_FACES
            return FaceAnalysis(boxes, None, None, None, [reason], {"faces": len(boxes)}, timings)
        t0 = time.perf_counter()
        left, top, right, bottom = boxes[0]
        bw, bh = right - left, bottom - top
        # crop with a margin for the encoder's chip (it pads the face by 25%)
        cx0, cy0 = max(0, left - bw // 2), max(0, top - bh // 2)
        cx1, cy1 = min(w, right + bw // 2), min(h, bottom + bh // 2)
        crop = np.ascontiguousarray(frame[cy0:cy1, cx0:cx1, ::-1])
        m = self.models
        rect = m.rectangle(left - cx0, top - cy0, right - cx0 - 1, bottom - cy0 - 1)
        kind = landmarks or self.landmarks
        shape = self._landmarks(kind, crop, rect)
        pts = np.array(_points(shape), dtype=np.float64) + (cx0, cy0)
        timings["landmarks_ms"] = _ms(t0)
        t1 = time.perf_counter()
        reasons, metrics = q.check(frame, boxes[0], pts, self.gates)
        timings["quality_ms"] = _ms(t1)
        return FaceAnalysis(boxes, pts, shape, crop, reasons, metrics, timings)

    def verify(self, id_face: IdFace, frame_bgr: np.ndarray) -> Decision:
        """Compare one live frame with the ID encoding; never raises for a bad frame."""
        t0 = time.perf_counter()
        bounds = (self.rule.accept_below, self.rule.reject_above)
        try:
            a = self.analyse(frame_bgr)
        except FaceError as exc:
            return Decision(False, None, None, bounds, [exc.key], {"decision_ms": _ms(t0)})
        timings = dict(a.timings_ms)
        if a.quality:
            timings["decision_ms"] = _ms(t0)
            return Decision(False, None, None, bounds, a.quality, timings)
        t1 = time.perf_counter()
        live = self._encode(a.crop, a.shape, 1)
        timings["encode_ms"] = _ms(t1)
        distance = float(np.linalg.norm(live - id_face.encoding))
        live.fill(0.0)
        timings["decision_ms"] = _ms(t0)
        verdict = self.rule.classify(distance)
        return Decision(verdict == ACCEPT, distance, verdict, bounds, [], timings, frame_score(a.metrics))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._encoder.stop()

    def __enter__(self) -> FaceVerifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


from .session import FaceSession  # noqa: E402,F401  (re-exported; it builds on the classes above)
