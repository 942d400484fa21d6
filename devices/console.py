"""The foreground loop of every ``kiosk sim FAMILY``.

A simulator run by hand reads control commands on stdin ("paper out",
"present biden", ...) until ``quit``/``exit``, Ctrl-C or SIGTERM; when stdin
closes (started in the background by a script) it keeps serving until a
signal.  Either way the caller's ``finally`` stops the simulator, so a
supervisor's stop releases its pty, port or pcscd slot.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

import click

QUIT = ("quit", "exit")


def run_console(handle: Callable[[list[str]], None], errors: tuple[type[BaseException], ...] = (ValueError,)) -> None:
    """Calls ``handle(words)`` for each stdin line until told to stop; a command
    failing with one of ``errors`` prints ``error: ...`` on stderr."""
    stop = threading.Event()

    def read() -> None:
        for line in sys.stdin:
            words = line.split()
            if words[:1] and words[0].lower() in QUIT:
                break
            try:
                handle(words)
            except errors as exc:
                click.echo(f"error: {exc}", err=True)
        else:
            return  # stdin closed: keep serving until a signal
        stop.set()

    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=read, name="sim-console", daemon=True).start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
