"""No face image or encoding is written anywhere during verification."""

from __future__ import annotations

import logging
import os
import stat
import sys

from devices.camera import scenes
from devices.face.liveness import LivenessChecker
from devices.face.verifier import FaceSession, FaceVerifier

_watch = {"on": False, "writes": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event, args):
    # audit hooks cannot be removed, so this one only records while a test switches it on
    if not _watch["on"]:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) and stat.S_ISFIFO(os.fstat(path).st_mode):
            return  # the pipe to the encoder process: memory, not a file
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & _WRITE_FLAGS:
            _watch["writes"].append((event, path))
    elif event in ("os.rename", "os.link", "os.symlink", "os.mkdir", "shutil.copyfile", "os.truncate"):
        _watch["writes"].append((event, args[0] if args else None))


sys.addaudithook(_audit)


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_verification_writes_no_file(tmp_path, monkeypatch, caplog, faces_dir):
    # the encoder child process starts inside this test, with its home, temp
    # dir and working dir pointed at empty folders we can check afterwards
    dirs = {n: tmp_path / n for n in ("home", "tmp", "cwd")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.chdir(dirs["cwd"])
    caplog.set_level(logging.DEBUG)
    id_bytes = scenes.id_photo("obama")
    live = scenes.render("obama")
    blink = scenes.blink_sequence("obama_blink")

    _watch.update(on=True, writes=[])
    try:
        with FaceVerifier() as verifier:
            id_face = verifier.encode_id_photo_async(id_bytes).result(timeout=60)
            session = FaceSession(verifier, id_face)
            for _ in range(session.rule.min_frames):  # one decision is fused from several frames
                decision = session.attempt(live)
            checker = LivenessChecker("blink", seconds=None, verifier=verifier)
            for i, frame in enumerate(blink):
                checker.feed(frame, ts=i / 15)
            from_file = verifier.verify(id_face, faces_dir / "obama_1.jpg")
            session.wipe()
    finally:
        _watch["on"] = False

    assert decision.match and from_file.match and checker.result()[0]
    assert _watch["writes"] == []
    assert all(_tree(d) == [] for d in dirs.values())
    # what is kept is the decision: a few numbers and catalog keys
    kept = decision.as_dict()
    assert set(kept) == {"match", "verdict", "distance", "accept_below", "reject_above", "quality", "timings_ms",
                         "frames"}
    assert all(isinstance(v, (bool, float, int, str, list, dict)) for v in kept.values())
    assert all(isinstance(d, float) for d in kept["frames"])
    for record in caplog.records:
        assert not any(hasattr(v, "shape") for v in vars(record).values())


def test_the_watch_would_notice_a_write(tmp_path):
    _watch.update(on=True, writes=[])
    try:
        (tmp_path / "x.bin").write_bytes(b"1")
    finally:
        _watch["on"] = False
    assert _watch["writes"]
