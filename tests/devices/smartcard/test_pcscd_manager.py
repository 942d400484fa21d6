"""pcscd management: clear reasons when the daemon cannot be used, clean shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("smartcard")

from devices.base import DeviceError, DeviceState  # noqa: E402
from devices.smartcard import pcscd  # noqa: E402


@pytest.fixture
def no_daemon(monkeypatch):
    """As if no pcscd were running and none were managed (nothing real is touched)."""
    monkeypatch.setattr(pcscd, "socket_alive", lambda *a: False)
    monkeypatch.setattr(pcscd, "_managed_pid", lambda d: None)


def test_not_installed_is_reported(no_daemon, monkeypatch):
    monkeypatch.setattr(pcscd, "find_pcscd", lambda: None)
    with pytest.raises(DeviceError) as err:
        pcscd.ensure_running()
    assert err.value.key == "smartcard.pcscd_not_installed"
    assert err.value.state == DeviceState.NO_DEVICE


def test_not_root_is_reported(no_daemon, monkeypatch):
    monkeypatch.setattr(pcscd, "find_pcscd", lambda: "/usr/sbin/pcscd")
    monkeypatch.setattr(pcscd, "vpcd_installed", lambda: True)
    monkeypatch.setattr(pcscd.os, "geteuid", lambda: 1000)
    with pytest.raises(DeviceError) as err:
        pcscd.ensure_running()
    assert str(err.value) == "Starting the smart-card service (pcscd) needs root"


def test_vpcd_port_is_checked_without_connecting():
    # a connection to vpcd would count as a card insertion, so /proc is read instead
    assert pcscd.port_listening(1) is False


@pytest.mark.pcsc
def test_info_and_lease(pcscd_lease):
    state = pcscd.info()
    assert state.running and state.vpcd_listening
    assert "Virtual PCD 00 00" in state.readers
    with pcscd.ensure_running() as lease:
        assert lease.managed == pcscd_lease.managed
    assert pcscd.socket_alive()  # the session's lease still holds the daemon


@pytest.mark.pcsc
def test_driver_status_without_pcscd(pcscd_lease, tmp_path):
    # the PC/SC client finds pcscd through this socket path; nothing listens there
    script = textwrap.dedent("""
        import json
        from devices.smartcard.driver import SmartCardReader
        dev = SmartCardReader("sc", "pcsc://Virtual PCD 00 00").open()
        print(json.dumps(dev.status().as_dict()))
        dev.close()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "absent.comm")})
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["device"] == "noDevice"
    assert status["message"]["en"] == "The smart-card service (pcscd) is not running; please call staff"
