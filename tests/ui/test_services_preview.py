"""``kiosk services preview``: a data-only service's screens as PNGs, by the real QML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qt
ROOT = Path(__file__).resolve().parents[2]


def kiosk(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env.update(KIOSK_DATA_DIR=str(data), QT_QPA_PLATFORM="offscreen", QT_QUICK_BACKEND="software")
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "services", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)


def test_preview_writes_one_png_per_screen_of_a_data_only_service(tmp_path):
    out = tmp_path / "shots"
    r = kiosk("preview", "flows/catalog/driving_points.yaml", "--out", str(out), data=tmp_path / "data")
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == ["01-card.png", "02-points.png", "03-evaluation.png", "04-thanks.png"]
    assert r.stdout.split() == [str(f) for f in files]
    for f in files:
        data = f.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000   # a drawn screen, not a blank one


def test_preview_refuses_a_broken_file_line_by_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ncategory: leisure\nsteps: []\n", "utf-8")
    r = kiosk("preview", str(bad), "--out", str(tmp_path / "o"), data=tmp_path / "data")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "category must be one of" in r.stdout and not (tmp_path / "o").exists()
