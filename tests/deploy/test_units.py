"""The systemd units' sandbox, as systemd itself rates it, and the settings
that keep a plugged-in keyboard inside the kiosk."""

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"

needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze not installed (apt-get install systemd)")
PR_GET_MDWE = 66
# Runs a command with the kernel refusing writable+executable memory, as
# MemoryDenyWriteExecute=true does for the unit.
MDWE_EXEC = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:   # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
"""


def settings(unit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def exposure(unit: str) -> float:
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNITS / unit)],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    return float(m.group(1))


@needs_analyze
@pytest.mark.parametrize("unit, limit", [
    ("kiosk-sync.service", 3.0), ("kiosk-health.service", 3.0), ("kiosk-app.service", 5.0)])
def test_exposure_within_limit(unit, limit):
    assert exposure(unit) <= limit


@pytest.mark.parametrize("unit", ["kiosk-app.service", "kiosk-sync.service", "kiosk-health.service"])
def test_common_limits_set(unit):
    s = settings(unit)
    # a deliberate, finite descriptor limit: a leak ends in a clear EMFILE and a restart
    assert s["LimitNOFILE"] and int(s["LimitNOFILE"][0]) <= 4096
    for key, value in [("ProtectSystem", "strict"), ("NoNewPrivileges", "true"), ("PrivateTmp", "true"),
                       ("CapabilityBoundingSet", ""), ("LockPersonality", "true"),
                       ("ProtectKernelModules", "true"), ("ProtectKernelTunables", "true")]:
        assert s.get(key) == [value], key
    assert s["ReadWritePaths"][0].split()[0] == "/var/lib/kiosk"
    assert "AF_PACKET" not in s["RestrictAddressFamilies"][0]


def test_background_services_cannot_map_writable_code():
    for unit in ("kiosk-sync.service", "kiosk-health.service"):
        assert settings(unit)["MemoryDenyWriteExecute"] == ["true"]
    assert settings("kiosk-sync.service")["PrivateDevices"] == ["true"]


def test_app_devices_are_an_allow_list():
    s = settings("kiosk-app.service")
    assert s["DevicePolicy"] == ["closed"]
    allowed = {a.split()[0] for a in s["DeviceAllow"]}
    assert {"char-drm", "char-input", "char-ttyUSB", "char-video4linux"} <= allowed
    assert not any(a.startswith(("block-", "char-mem", "char-kmsg")) for a in allowed)


def test_cage_does_not_allow_vt_switching():
    exec_start = settings("kiosk-app.service")["ExecStart"][0]
    cage_args = exec_start.split(" -- ")[0].split()
    assert cage_args[0].endswith("/cage")
    assert "-s" not in cage_args


def test_sync_works_without_writable_code(tmp_path):
    """kiosk-sync.service sets MemoryDenyWriteExecute: the sync worker (HTTP,
    TLS, SQLite, the store's encryption) must run with the kernel refusing W+X."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        pytest.skip("kernel without PR_SET_MDWE (Linux >= 6.3)")
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data"), "KIOSK_MODE": "demo"}
    env.pop("KIOSK_CONFIG", None)
    made = subprocess.run([sys.executable, "-m", "kiosk.cli", "cases", "simulate", "--count", "3"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    proc = subprocess.run([sys.executable, "-c", MDWE_EXEC, sys.executable, "-m", "kiosk.cli", "cases", "sync",
                           "--once", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["sent"] == 3 and out["pending"] == 0 and out["error"] is None
