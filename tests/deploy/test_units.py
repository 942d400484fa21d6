"""The systemd units' sandbox, as systemd itself rates it, and the settings
that keep a plugged-in keyboard inside the kiosk."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"

needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
                                   reason="systemd-analyze not installed (apt-get install systemd)")


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
