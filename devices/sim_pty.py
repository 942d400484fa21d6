"""The pseudo-terminals the serial simulators speak on (ID-card reader, scanner):
a raw pty the real driver opens like a USB serial adapter, and an optional
stable symlink to it (``--link /dev/kiosk-idcard`` stand-ins)."""

from __future__ import annotations

import os
import tty
from pathlib import Path


def open_raw() -> tuple[int, int, str]:
    """(master, slave, slave path): no echo or newline translation before the
    driver configures the line; the simulator's side never blocks."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


def close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def point_link(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target``; a file that is not a symlink is never replaced."""
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise FileExistsError(f"{link} exists and is not a symlink")
    link.symlink_to(target)


def drop_link(link: Path | None) -> None:
    if link is not None and link.is_symlink():
        link.unlink()
