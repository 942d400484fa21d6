"""One KioskApp (simulated devices + embedded sandbox) shared by the flow tests.

Starting the simulators (pty ID reader, pcscd + vpcd, camera folder, ESC/POS
on TCP, ippeveprinter) costs a few seconds, so the tests share one app and
reset the devices they touch.
"""

from __future__ import annotations

import os

import pytest

from kiosk.config import load_config


def _drop_dead_dbus_socket() -> None:
    """A system bus stopped by an earlier simulator user (another process, just
    before) can leave its socket and pid file behind; the A4 simulator then
    takes D-Bus for running, or dbus-daemon refuses to start, and avahi fails.
    When nothing answers on the socket, wait for that bus to finish exiting
    and remove what it left."""
    import socket
    import time

    sock_path, pid_path = "/run/dbus/system_bus_socket", "/run/dbus/pid"
    if os.path.exists(sock_path):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(sock_path)
            return  # a live bus
        except OSError:
            pass
        finally:
            probe.close()
    try:
        pid = int(open(pid_path).read().strip())
    except (OSError, ValueError):
        pid = None
    deadline = time.monotonic() + 3.0
    while pid is not None:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        if time.monotonic() > deadline:
            return  # a bus that is alive (perhaps still starting): leave it alone
        time.sleep(0.05)
    for path in (sock_path, pid_path):
        try:
            os.unlink(path)
        except OSError:
            pass


@pytest.fixture
def fresh_dbus():
    """For tests that start and stop whole kiosk processes one after another."""
    return _drop_dead_dbus_socket


@pytest.fixture(scope="session")
def kiosk_app(tmp_path_factory):
    from kiosk.app import KioskApp

    _drop_dead_dbus_socket()

    data = tmp_path_factory.mktemp("kiosk-data")
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env["KIOSK_DATA_DIR"] = str(data)
    config = load_config(env=env, overrides={"ui": {"idle_timeout_s": 60, "idle_warning_s": 10}})
    app = KioskApp(config).start()
    yield app
    app.stop()


@pytest.fixture
def runner(kiosk_app, tmp_path):
    from flows.runner import Runner

    printer = kiosk_app.devices.simulators.get("ticket_printer")
    if printer is not None:
        printer.set_paper("ok")
        printer.set_cover(False)
    a4 = kiosk_app.devices.simulators.get("a4_printer")
    if a4 is not None and hasattr(a4, "set_fault"):
        a4.set_fault(None)
    return Runner(kiosk_app, tmp_path / "out", expect_timeout_s=30)
