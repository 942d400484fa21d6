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
    assert out["match"] is True and out["verdict"] == "accept" and out["quality"] == []
    assert out["distance"] < out["accept_below"] <= out["reject_above"]
    assert out["warm_ms"]["runs"] == 2 and out["warm_ms"]["decision_ms"] > 0
    assert out["cold_ms"]["load_ms"] > 0 and out["cold_ms"]["first_decision_ms"] > 0
    res = run(faces_dir / "biden_1.jpg", faces_dir / "obama_2.jpg")
    assert res.exit_code == 0
    assert "match: no" in res.stdout and "distance:" in res.stdout
    assert "cold:" in res.stdout and "warm:" in res.stdout


def test_several_live_images_are_fused(run, faces_dir):
    lives = [faces_dir / n for n in ("obama_1.jpg", "two_people.jpg", "obama_3_480p.jpg", "obama_partial_face.jpg")]
    res = run(faces_dir / "obama_2.jpg", *lives, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    frames = out["frames"]
    assert [f["image"] for f in frames] == [str(p) for p in lives]
    used = [f["distance"] for f in frames if f["distance"] is not None]
    assert len(used) == 2 and frames[1]["quality"] == ["face.quality.several_faces"]
    assert out["distance"] == pytest.approx(sorted(used)[len(used) // 2] if len(used) % 2 else sum(used) / 2, abs=1e-4)
    assert out["match"] is True and out["fused_from"] == 2
    human = run(faces_dir / "biden_1.jpg", *lives)
    assert human.exit_code == 0 and "match: no" in human.stdout and "median of the best 2" in human.stdout


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
