"""systemd readiness and watchdog, tied to the liveness of the app's loops.

systemd restarts the kiosk when ``WATCHDOG=1`` stops arriving.  Pinging from a
timer alone would prove only that the timer runs, so every loop that matters
(Qt event loop, each device loop, the flow engine) registers with ``Watchdog``
and checks in; the ping is sent only while every loop checked in within its
deadline.  A hung loop therefore leads to a restart, with the loop's name logged.

The notify protocol is one datagram to ``$NOTIFY_SOCKET``; it is written here
directly (a few lines) rather than pulling a dependency for it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


_NOTIFY_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
_claimed: dict[str, str] = {}


def claim_notify_environment() -> dict[str, str]:
    """Take systemd's notify variables out of ``os.environ`` and keep them here.

    The kiosk starts daemons of its own (pcscd, avahi, ippeveprinter, Xvfb);
    those that speak sd_notify would otherwise send READY=1 to the kiosk's
    unit (NotifyAccess=all is needed because cage is the main process), and
    systemd would take the kiosk for ready, or alive, when it is not.
    """
    for var in _NOTIFY_VARS:
        if var in os.environ:
            _claimed[var] = os.environ.pop(var)
    return dict(_claimed)


def _notify_env(env: dict | None) -> dict:
    if env is not None:
        return env
    return {**_claimed, **{v: os.environ[v] for v in _NOTIFY_VARS if v in os.environ}}


def sd_notify(message: str, env: dict | None = None) -> bool:
    """Send ``message`` to systemd; False when not run under systemd."""
    env = _notify_env(env)
    addr = env.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):  # abstract namespace
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(message.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify failed", extra={"reason": str(exc)})
        return False


def watchdog_interval(env: dict | None = None) -> float | None:
    """Half of systemd's WatchdogSec (the recommended ping period), or None."""
    env = _notify_env(env)
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        return max(0.5, int(usec) / 2_000_000)
    except ValueError:
        return None


@dataclass
class _Loop:
    name: str
    deadline_s: float
    last: float


class Watchdog:
    def __init__(self, clock: Callable[[], float] = time.monotonic, notify: Callable[[str], bool] = sd_notify):
        self._clock = clock
        self._notify = notify
        self._loops: dict[str, _Loop] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stalled: list[str] = []

    def register(self, name: str, deadline_s: float) -> Callable[[], None]:
        """Register a loop; returns its check-in function."""
        with self._lock:
            self._loops[name] = _Loop(name, deadline_s, self._clock())

        def check_in() -> None:
            with self._lock:
                loop = self._loops.get(name)
                if loop:
                    loop.last = self._clock()

        return check_in

    def healthy(self) -> bool:
        now = self._clock()
        with self._lock:
            stalled = [loop.name for loop in self._loops.values() if now - loop.last > loop.deadline_s]
        if stalled and stalled != self.stalled:
            log.error("loop stalled, withholding watchdog ping", extra={"loops": stalled})
        self.stalled = stalled
        return not stalled

    def tick(self) -> bool:
        """Ping systemd if every loop is alive; returns whether it pinged."""
        if self.healthy():
            self._notify("WATCHDOG=1")
            return True
        return False

    def ready(self, status: str = "") -> None:
        self._notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> None:
        self._notify(f"STATUS={text}")

    def start(self, interval_s: float | None = None) -> bool:
        """Ping from a background thread every ``interval_s`` (default: half of
        WatchdogSec). Returns False when systemd asked for no watchdog."""
        interval = interval_s or watchdog_interval()
        if interval is None:
            return False

        def run() -> None:
            while not self._stop.wait(interval):
                self.tick()

        self._thread = threading.Thread(target=run, name="watchdog", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        self._notify("STOPPING=1")
