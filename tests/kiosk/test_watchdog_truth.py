"""The systemd watchdog is fed only while the loops really turn: freeze the
Qt event loop, or a device's command thread, and the WATCHDOG=1 datagrams on
the notify socket stop; let it go and they come back."""

from __future__ import annotations

import os
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from kiosk.core.watchdog import Watchdog, sd_notify

PING_S = 0.1


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    yield path, srv
    srv.close()


def _watchdog(path: str) -> Watchdog:
    return Watchdog(notify=lambda m: sd_notify(m, env={"NOTIFY_SOCKET": path}))


def _next_ping(srv: socket.socket, within: float) -> bool:
    """True when a WATCHDOG=1 arrives within ``within`` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        srv.settimeout(left)
        try:
            if srv.recv(64) == b"WATCHDOG=1":
                return True
        except TimeoutError:
            return False
    return False


def _drain(srv: socket.socket) -> None:
    srv.setblocking(False)
    try:
        while True:
            srv.recv(64)
    except BlockingIOError:
        pass
    srv.setblocking(True)


def _wait(cond, bound: float = 10.0) -> bool:
    deadline = time.monotonic() + bound
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.qt
def test_frozen_qt_event_loop_stops_the_pings(notify_socket):
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    path, srv = notify_socket
    # the same application class the kiosk (and the UI tests later in this
    # process) use: a bare QCoreApplication would be reused and lack setFont
    qapp = QGuiApplication.instance() or QGuiApplication([])
    wd = _watchdog(path)
    alive = wd.register("qt-event-loop", 0.5)
    heartbeat = QTimer()
    heartbeat.timeout.connect(alive)  # as in kiosk run: the loop proves itself by turning
    heartbeat.start(50)
    frozen, release, finished = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def freeze() -> None:  # a slot that never returns while it is held: the loop is stuck
        frozen.set()
        release.wait(30)

    def check() -> None:
        try:
            seen["before"] = _next_ping(srv, 5)
            trigger.set()
            frozen.wait(10)
            seen["stalled"] = _wait(lambda: not wd.healthy())
            _drain(srv)
            seen["during"] = _next_ping(srv, 1.0)
            release.set()
            seen["after"] = _next_ping(srv, 5)
        finally:
            release.set()
            finished.set()

    trigger = threading.Event()
    poll = QTimer()
    poll.timeout.connect(lambda: (trigger.is_set() and not frozen.is_set() and freeze(),
                                  finished.is_set() and qapp.quit()))
    poll.start(20)
    wd.start(PING_S)
    checker = threading.Thread(target=check)
    checker.start()
    try:
        qapp.exec()
    finally:
        wd.stop()
        heartbeat.stop()
        poll.stop()
        release.set()
        checker.join(10)
    assert seen == {"before": True, "stalled": True, "during": False, "after": True}
    assert wd.stalled == [] and wd.healthy()


def test_frozen_device_worker_stops_the_pings(notify_socket, monkeypatch):
    from devices.base import Device
    from kiosk import ops as ops_mod

    class Reader(Device):
        family = "toy"
        schemes = ("toy",)

    path, srv = notify_socket
    monkeypatch.setattr(ops_mod, "DEVICE_PROBE_EVERY_S", 0.05)
    monkeypatch.setattr(ops_mod, "DEVICE_LOOP_DEADLINE_S", 0.5)
    dev = Reader("idcard", "toy://").open()
    app = SimpleNamespace(devices=SimpleNamespace(devices={"idcard": dev}), metrics=None, central=None,
                          config=SimpleNamespace(get=lambda k, d=None: False))
    wd = _watchdog(path)
    ops = ops_mod.Operations(app, watchdog=wd, serve_metrics=False)
    ops._watch_devices()
    wd.start(PING_S)
    release = threading.Event()
    try:
        assert _next_ping(srv, 5)
        dev.submit(release.wait, 30)  # the reader's command thread hangs in a command
        assert _wait(lambda: not wd.healthy())
        _drain(srv)
        assert not _next_ping(srv, 1.0)
        assert wd.stalled == ["device:idcard"]
        release.set()
        assert _next_ping(srv, 5)
    finally:
        release.set()
        wd.stop()
        ops._stop.set()
        dev.close()
