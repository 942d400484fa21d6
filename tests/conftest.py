"""Shared fixtures: an isolated data dir and config for every test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # tests/suite checks these rules on sample runs

# No test touches the machine's own data dir (~/.local/share/kiosk), which
# another checkout's run may be using too: the session gets one of its own,
# and tests that need a fresh one take the ``data_dir`` fixture.
_SESSION_DATA = tempfile.mkdtemp(prefix="kiosk-test-data-")
os.environ["KIOSK_DATA_DIR"] = _SESSION_DATA


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_DATA, ignore_errors=True)


# Test photos kept in the repository (see tests/data/faces/README.md).
FACES = Path(__file__).resolve().parent / "data" / "faces"


@pytest.fixture(autouse=True)
def demo_mode(monkeypatch):
    """Tests run the simulators and the embedded sandbox: demo mode, also for
    the site files they write (which would otherwise be production). Tests of
    production mode pass ``mode`` explicitly or drop KIOSK_MODE."""
    monkeypatch.setenv("KIOSK_MODE", "demo")


# No Hypothesis deadline: examples here do I/O (sockets, SQLite, subprocesses)
# and a busy machine must not turn a slow example into a failure.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the dev extra is missing; its tests skip (a failure in CI)
    pass
else:
    _hypothesis_settings.register_profile("kiosk", deadline=None)
    _hypothesis_settings.load_profile("kiosk")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(d))
    return d


@pytest.fixture
def faces_dir() -> Path:
    return FACES


# --- Skips: a failure in CI, a hint elsewhere -------------------------------
# CI (.ci/run sets CI=true; hosted runners set it too) installs every package
# the suite needs and runs as root, so there a skip means a broken install or
# a missing tool, fixture, mount or server: it is reported as a failure unless
# its reason is allow-listed below.  Elsewhere a skip stays a skip and says what
# to install.  Test modules do not read CI themselves: they skip with a reason.


def in_ci() -> bool:
    """The one rule for reading the CI variable."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Skip reasons (substrings) that stay skips in CI, each with why.
CI_ALLOWED_SKIPS = {
    "pcscd is a system service here": "tests never restart a pcscd owned by the host's service manager",
    "kernel without PR_SET_MDWE": "a kernel feature (Linux >= 6.3; Debian 12 ships 6.1) no package installs",
}

INSTALL_HINT = "install with `make install` (deploy/apt-packages.txt and the pip extras)"


def _skip_reason(report) -> str:
    lr = report.longrepr
    text = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return text.removeprefix("Skipped: ")


def _judge_skip(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if in_ci():
        if not any(allowed in reason for allowed in CI_ALLOWED_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, which must run every test: {reason}"
    elif "could not import" in reason and isinstance(report.longrepr, tuple):
        path, line, _ = report.longrepr
        report.longrepr = (path, line, f"Skipped: {reason}; {INSTALL_HINT}")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _judge_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _judge_skip(outcome.get_result())


# --- Report: tests run per package -------------------------------------------


def _package(nodeid: str) -> str:
    """'tests/devices/face/test_cli.py::x' -> 'devices/face'; 'tests/kiosk/test_a.py' -> 'kiosk'."""
    parts = nodeid.split("::")[0].split("/")
    if parts and parts[0] == "tests":
        parts = parts[1:]
    return "/".join(parts[:-1][:2]) or "."


def pytest_terminal_summary(terminalreporter):
    """Per package, the same outcomes pytest's last line counts."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for rep in terminalreporter.stats.get(outcome, []):
            if getattr(rep, "nodeid", ""):
                row = counts.setdefault(_package(rep.nodeid), {})
                row[outcome] = row.get(outcome, 0) + 1
    if not counts:
        return
    terminalreporter.write_sep("-", "tests run per package")
    width = max(len(p) for p in counts)
    for pkg in sorted(counts):
        row = counts[pkg]
        run = sum(n for k, n in row.items() if k != "skipped")
        extra = ", ".join(f"{n} {k}" for k, n in row.items() if k != "passed")
        terminalreporter.write_line(f"{pkg:<{width}}  {run:>4} run" + (f"  ({extra})" if extra else ""))


@pytest.fixture
def make_client(central):
    """Terminal clients of the ``central`` fixture the test's folder provides
    (embedded sandbox; on SQLite or PostgreSQL under tests/central), closed after."""
    from offline_cache.client import CentralClient

    made = []

    def make(url: str | None = None, **kw) -> CentralClient:
        kw.setdefault("connect_timeout_s", 1.0)
        kw.setdefault("read_timeout_s", 2.0)
        kw.setdefault("terminal_id", "T-TEST")
        kw.setdefault("token", central.token_for(kw["terminal_id"]))
        c = CentralClient(url=url or central.url, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client):
    return make_client()
