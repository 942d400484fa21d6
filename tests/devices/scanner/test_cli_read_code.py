"""``kiosk devices read-code`` as a technician runs it (real subprocesses, a pty simulator)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.scanner.simulator import ScannerSimulator

ROOT = Path(__file__).resolve().parents[3]


def kiosk(*args, timeout=60):
    env = dict(os.environ)
    env.pop("KIOSK_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(res, *words):
    assert res.returncode == 1 and res.stdout == "" and "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def sim(tmp_path):
    s = ScannerSimulator(trigger="newland", link=tmp_path / "ttyScanner").start()
    yield s
    s.stop()


def test_read_code_json(sim, data_dir):
    sim.scan("电子社保卡 A1b2", "qr")
    res = kiosk("devices", "read-code", "--port", sim.url, "--timeout", "10", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"text": "电子社保卡 A1b2", "symbology": "qr"}


def test_read_code_builtin_simulator(data_dir):
    res = kiosk("devices", "read-code", "--port", "sim://", "--text", "6901234567892", "--symbology", "ean13",
                "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"text": "6901234567892", "symbology": "ean13"}


@pytest.mark.parametrize("action, words", [
    (None, ["No code was scanned within 0.5 s"]),
    ("garbled", ["could not be read", "scan again"]),
    ("partial", ["cut off", "scan again"]),
])
def test_failures_are_one_line(sim, data_dir, action, words):
    if action:
        getattr(sim, action)()
    one_line_error(kiosk("devices", "read-code", "--port", sim.url, "--timeout", "0.5", "--json"), *words)


@pytest.mark.parametrize("port, words", [
    ("serial:///dev/ttyNoScanner0", ["/dev/ttyNoScanner0", "cannot be opened"]),
    ("evdev:///dev/input/by-id/none-event-kbd", ["none-event-kbd"]),
    ("serial:///dev/ttyNoScanner0?encoding=big5", ["encoding must be one of"]),
    ("gopher://x", ["invalid --port", "no scanner driver"]),
])
def test_bad_ports_are_one_line(data_dir, port, words):
    one_line_error(kiosk("devices", "read-code", "--port", port, "--timeout", "0.2"), *words)
