"""Shared fixtures: an isolated data dir and config for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Test photos kept in the repository (see tests/data/faces/README.md).
FACES = Path(__file__).resolve().parent / "data" / "faces"


@pytest.fixture(autouse=True)
def demo_mode(monkeypatch):
    """Tests run the simulators and the embedded sandbox: demo mode, also for
    the site files they write (which would otherwise be production). Tests of
    production mode pass ``mode`` explicitly or drop KIOSK_MODE."""
    monkeypatch.setenv("KIOSK_MODE", "demo")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(d))
    return d


@pytest.fixture
def faces_dir() -> Path:
    return FACES


# In CI every optional stack is installed on purpose, so a test that would be
# skipped because a module cannot be imported (pytest.importorskip) is a broken
# install, not an optional feature: report it as a failure there.
_CI = bool(os.environ.get("CI"))


def _import_skip(report) -> bool:
    return report.skipped and "could not import" in str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _CI and _import_skip(report):
        report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _CI and _import_skip(report):
        report.outcome = "failed"
