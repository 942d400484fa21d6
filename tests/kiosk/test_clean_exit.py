"""Ctrl-C and SIGTERM end the long-running commands with one line: no
traceback from them or their children, and nothing they started keeps running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 60.0  # generous: these are correctness checks, the 5 s goal is measured in benchmarks


def _env(data: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env.update(KIOSK_DATA_DIR=str(data), PYTHONPATH=str(ROOT), **extra)
    return env


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "wb")
    try:
        return subprocess.Popen([sys.executable, "-m", "kiosk.cli", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()


def _wait_for(log: Path, text: str, proc: subprocess.Popen, bound: float = 120.0) -> None:
    deadline = time.monotonic() + bound
    while text not in log.read_text("utf-8", "replace"):
        assert proc.poll() is None, log.read_text("utf-8", "replace")
        assert time.monotonic() < deadline, f"no {text!r} in: {log.read_text('utf-8', 'replace')}"
        time.sleep(0.2)


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
                frontier.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _stop(proc: subprocess.Popen, sig: int) -> None:
    """Signal its process group, as a terminal's Ctrl-C or systemd's stop does."""
    os.killpg(proc.pid, sig)
    try:
        proc.wait(BOUND_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"still running {BOUND_S:.0f} s after {signal.Signals(sig).name}")



def _assert_clean(output: str, last_line_has: str) -> None:
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "X11 connection broke" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert last_line_has in lines[-1], output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_central_serve_and_cases_sync_stop_with_one_line(tmp_path, sig):
    data = tmp_path / "data"
    env = _env(data)
    subprocess.run([sys.executable, "-m", "kiosk.cli", "cases", "simulate", "--count", "30"], env=env, check=True,
                   capture_output=True)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    central_log, sync_log = tmp_path / "central.log", tmp_path / "sync.log"
    central = _start(["central", "serve", "--port", str(port)], _env(tmp_path / "central"), central_log)
    sync = None
    try:
        _wait_for(central_log, "central platform on", central)
        # each terminal has its own credential from the sandbox's per-install secret
        token = subprocess.run([sys.executable, "-m", "kiosk.cli", "central", "token", "T-0001"],
                               env=_env(tmp_path / "central"), check=True, capture_output=True,
                               text=True).stdout.strip()
        sync = _start(["cases", "sync", "--heartbeat"],
                      dict(env, KIOSK_CENTRAL_URL=f"http://127.0.0.1:{port}", KIOSK_CENTRAL_TOKEN=token), sync_log)
        _wait_for(sync_log, "runs until stopped", sync)
        _wait_for(sync_log, "heartbeat", sync)  # the central sandbox answers by now
        _wait_for(sync_log, "0 pending", sync)
        _stop(sync, sig)
        output = sync_log.read_text("utf-8")
        _assert_clean(output, "stopped: sent 30 this run, 0 pending")
        assert sync.returncode == 0
        _stop(central, sig)
        _assert_clean(central_log.read_text("utf-8"), "central platform stopped")
        assert central.returncode == 0
    finally:
        for p in (sync, central):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.mark.qt
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_kiosk_run_stops_with_one_line_and_leaves_nothing_running(tmp_path, sig):
    import shutil

    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is part of the install (deploy/apt-packages.txt)")
    env = _env(tmp_path / "data")
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)  # the real path: its own Xvfb, as on a machine without a screen
    log = tmp_path / "run.log"
    proc = _start(["run", "--windowed"], env, log)
    try:
        _wait_for(log, "kiosk core ready", proc, bound=240)
        # the face encoder child is started by the warm-up: stop while it runs
        deadline = time.monotonic() + 120
        while not any(b"devices.face.encoder" in Path(f"/proc/{p}/cmdline").read_bytes()
                      for p in _descendants(proc.pid) if _alive(p)):
            assert time.monotonic() < deadline, "the face encoder child never started"
            time.sleep(0.2)
        children = _descendants(proc.pid)
        assert children  # Xvfb, the A4 printer simulator, the encoder
        _stop(proc, sig)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text("utf-8", "replace")
    _assert_clean(output, f"kiosk stopped ({signal.Signals(sig).name})")
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while [p for p in children if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)  # children end as their pipes close
    assert [p for p in children if _alive(p)] == []
