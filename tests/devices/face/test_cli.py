"""``kiosk face verify``: a decision is exit 0; unusable input is one line and exit 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kiosk.cli import cli


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["face", "verify", *map(str, args)])


def test_match_and_no_match_are_decisions(run, faces_dir):
    res = run(faces_dir / "obama_1.jpg", faces_dir / "obama_2.jpg", "--json", "--repeat", "2")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["match"] is True and out["distance"] < out["threshold"] and out["quality"] == []
    assert out["runs"] == 2 and out["timings_ms"]["decision_ms"] > 0
    res = run(faces_dir / "biden_1.jpg", faces_dir / "obama_2.jpg")
    assert res.exit_code == 0
    assert "match: no" in res.stdout and "distance:" in res.stdout


@pytest.mark.parametrize("live,says", [
    ("two_people.jpg", "several faces"),
    ("obama_partial_face.jpg", "not usable"),
])
def test_refused_live_images(run, faces_dir, live, says):
    res = run(faces_dir / "biden_2.jpg", faces_dir / live)
    assert res.exit_code == 1
    assert says in res.stderr and res.stderr.count("\n") == 1


def test_unreadable_and_faceless_files(run, faces_dir, tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    res = run(junk, faces_dir / "obama_1.jpg")
    assert res.exit_code == 1 and "Cannot read image" in res.stderr and res.stderr.count("\n") == 1
    res = run(faces_dir / "obama_1.jpg", tmp_path / "missing.jpg")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    import cv2

    from devices.camera import scenes

    cv2.imwrite(str(tmp_path / "wall.png"), scenes.render("empty"))
    res = run(faces_dir / "obama_1.jpg", tmp_path / "wall.png")
    assert res.exit_code == 1 and "no face" in res.stderr
