"""Shared fixtures: an isolated data dir and config for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FACES = SHARED / "testdata" / "faces"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(d))
    return d


@pytest.fixture
def faces_dir() -> Path:
    if not FACES.is_dir():
        pytest.skip(f"test photos not found at {FACES}")
    return FACES
