"""dlib's encoder network on numpy: the same descriptors as dlib, or not used at all."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from devices.camera import scenes
from devices.face import resnet
from devices.face import verifier as vmod
from devices.face.verifier import ENCODER_MODEL, FaceVerifier, _chip, model_dir

SINGLE = ("obama_1", "obama_2", "obama_3_480p", "biden_1", "biden_2")


@pytest.fixture(scope="module")
def net(verifier):
    assert verifier.active_engine == "numpy"
    return verifier.models.net


@pytest.mark.parametrize("name", SINGLE)
def test_descriptor_matches_dlib_on_every_test_face(verifier, net, photos, name):
    a = verifier.analyse(scenes.compose(photos[name], verifier.analyse(photos[name]).faces, width=1280, height=720))
    assert a.quality == []
    chip = _chip(a.crop, a.shape)
    ours = net.descriptor(chip)
    theirs = np.asarray(verifier.models.encoder.compute_face_descriptor(chip))
    assert ours.shape == (128,) and ours.dtype == np.float64
    assert np.abs(ours - theirs).max() < 1e-5


def test_both_engines_reach_the_same_decisions(verifier, photos, id_faces):
    with FaceVerifier(engine="dlib") as reference:
        for a in ("obama_1", "biden_1"):
            for b in SINGLE:
                if a == b:
                    continue
                ours = verifier.verify(id_faces[a], photos[b])
                theirs = reference.verify(id_faces[a], photos[b])
                assert ours.match == theirs.match == (a[:5] == b[:5])
                assert abs(ours.distance - theirs.distance) < 1e-4
        assert reference.active_engine == "dlib"


def test_wrong_chip_size_is_refused(net):
    with pytest.raises(ValueError, match="150x150"):
        net.descriptor(np.zeros((100, 100, 3), np.uint8))


def _model_bytes() -> bytes:
    return (model_dir() / ENCODER_MODEL).read_bytes()


@pytest.mark.parametrize("damage, says", [
    (lambda d: d[: len(d) // 2], "ends"),
    (lambda d: b"not a model at all" * 100, "not a dlib face recognition model"),
])
def test_damaged_model_files_are_refused(tmp_path, damage, says):
    bad = tmp_path / "model.dat"
    bad.write_bytes(damage(_model_bytes()))
    with pytest.raises(resnet.ModelFormatError, match=says):
        resnet.load(bad)


def test_a_changed_weight_fails_the_check_against_dlib(tmp_path, verifier):
    data = bytearray(_model_bytes())
    # the first convolution's weights start right after its tensor header
    at = data.index(b"\x01\x05con_4") + 7 + 10 + 400
    data[at:at + 4] = np.float32(25.0).tobytes()
    bad = tmp_path / "model.dat"
    bad.write_bytes(bytes(data))
    resnet.load(bad)  # readable...
    with pytest.raises(resnet.ModelFormatError, match="differ from dlib"):
        resnet.load(bad, reference=verifier.models.encoder)  # ...but not the network dlib runs


def test_verifier_falls_back_to_dlib_when_the_check_fails(monkeypatch, caplog, photos, id_faces):
    # No tolerance at all: float rounding (~1e-7) is now "a difference", as a
    # network other than dlib's would be; the verifier must stay on dlib.
    monkeypatch.setattr(resnet, "TOLERANCE", 0.0)
    monkeypatch.setattr(vmod._Models, "_loaded", None)
    with caplog.at_level(logging.WARNING, logger="devices.face.verifier"), FaceVerifier(encoder="inline") as v:
        assert v.active_engine == "dlib"
        d = v.verify(id_faces["obama_2"], photos["obama_1"])
    assert d.decided and d.match
    warning = next(r for r in caplog.records if "using dlib's" in r.getMessage())
    assert "differ from dlib" in warning.reason
