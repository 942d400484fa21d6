"""dlib's model files and the models loaded from them, shared by the
verifier, liveness and the encoder child."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import resnet

log = logging.getLogger("devices.face.verifier")


def model_dir() -> Path:
    """The folder of dlib model files shipped by ``face_recognition_models``.

    Found from the package's location without running its ``__init__``, which
    imports ``pkg_resources`` (gone from recent setuptools) only to build
    these same paths.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face_recognition_models is not installed (pip install '.[face]')")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file():
        raise ImportError(f"face_recognition_models has no model files in {folder}")
    return folder


ENCODER_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"


class Models:
    """dlib models, each loaded once per process on first use (about 0.5 s in all).

    Loaded part by part: the encoder child needs dlib's encoder and the 68
    landmarks; the app checks the numpy copy against the child's encoder and
    loads dlib's encoder or the 68 landmarks itself only when the child cannot
    run (without a child, dlib's encoder is let go once the check passed); the
    four files together take ~150 MB of memory.
    """

    _lock = threading.Lock()
    _loaded: Models | None = None

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self.rectangle = dlib.rectangle
        self._part_lock = threading.Lock()
        self._parts: dict[str, Any] = {}
        self._net_lock = threading.Lock()
        self._net: resnet.FaceNet | None | bool = False  # False: not tried yet
        self.net_error: str | None = None
        # dlib's encoder for that check where it already runs (the encoder child),
        # so the app never loads it; None: load it here
        self.reference: Any = None

    def _part(self, name: str, make: Callable[[], Any]) -> Any:
        with self._part_lock:
            if name not in self._parts:
                self._parts[name] = make()
            return self._parts[name]

    @property
    def detector(self):
        return self._part("detector", self._dlib.get_frontal_face_detector)

    @property
    def landmarks68(self):
        return self._part("68", lambda: self._dlib.shape_predictor(str(model_dir() / LANDMARKS_68)))

    @property
    def landmarks5(self):
        return self._part("5", lambda: self._dlib.shape_predictor(str(model_dir() / LANDMARKS_5)))

    @property
    def encoder(self):
        return self._part("encoder", lambda: self._dlib.face_recognition_model_v1(str(model_dir() / ENCODER_MODEL)))

    @property
    def net(self) -> resnet.FaceNet | None:
        """The encoder on numpy, checked against dlib once (~0.2 s); None if it cannot be used."""
        with self._net_lock:
            if self._net is False:
                try:
                    self._net = resnet.load(model_dir() / ENCODER_MODEL, reference=self.reference or self.encoder)
                    with self._part_lock:  # checked: dlib's copy is only needed again on a fallback
                        self._parts.pop("encoder", None)
                except resnet.ModelFormatError as exc:
                    log.warning("face encoder on numpy unavailable, using dlib's (slower)", extra={"reason": str(exc)})
                    self._net = None
                    self.net_error = str(exc)
            return self._net

    def load_for_frames(self) -> None:
        """What live frames need in the app, loaded now rather than by the first resident
        (liveness' 68 landmarks are found in the encoder child, which loads that model)."""
        self.detector, self.landmarks5  # noqa: B018

    @classmethod
    def get(cls) -> Models:
        with cls._lock:
            if cls._loaded is None:
                cls._loaded = Models()
            return cls._loaded


