import socket

from kiosk.core.watchdog import Watchdog, sd_notify


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_hung_loop_stops_the_pings():
    clock, sent = Clock(), []
    wd = Watchdog(clock=clock, notify=lambda m: sent.append(m) or True)
    ui = wd.register("qt-event-loop", 5)
    dev = wd.register("device:idcard", 5)
    clock.t = 4
    ui()
    dev()
    assert wd.tick() and sent == ["WATCHDOG=1"]
    clock.t = 8
    ui()                         # the device loop hangs, the UI keeps going
    assert wd.tick()             # still within its deadline
    clock.t = 10
    ui()
    assert not wd.tick() and wd.stalled == ["device:idcard"]
    assert sent == ["WATCHDOG=1", "WATCHDOG=1"]
    dev()                        # loop recovers: pings resume
    assert wd.tick()


def test_sd_notify_datagram_reaches_systemd_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2)
    try:
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": path})
        assert srv.recv(100) == b"READY=1"
        wd = Watchdog(notify=lambda m: sd_notify(m, env={"NOTIFY_SOCKET": path}))
        wd.register("loop", 1)
        assert wd.tick() and srv.recv(100) == b"WATCHDOG=1"
    finally:
        srv.close()
    assert not sd_notify("READY=1", env={})
