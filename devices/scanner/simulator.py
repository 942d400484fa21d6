"""Simulated serial scanner on a pty: the bytes a real USB-CDC scanner sends.

Each scan is ``[prefix][AIM identifier]text[suffix]`` in the configured
encoding.  In ``continuous`` mode a scan is sent at once; in a vendor trigger
mode (honeywell, newland, zebra) the code waits "under the window" until the
host sends that vendor's trigger command, as a real scanner in command mode
does (Zebra's is acknowledged with an SSI CMD_ACK packet).

Controls (thread-safe): ``scan(text, symbology=None, repeat=1)``,
``garbled()`` (bytes that are not GB18030), ``partial(text)`` (no suffix: the
cable was pulled mid-scan), ``unplug()`` / ``plug()`` (the port node goes away
and comes back; use ``link`` for a stable path).
"""

from __future__ import annotations

import os
import select
import sys
import threading
from pathlib import Path

import click

from .. import sim_pty as pty
from ..console import run_console
from .protocol import AIM_PREFIX, ENCODINGS, TRIGGER_ACKS, TRIGGER_MODES, TRIGGERS, suffix_bytes

GARBLED = b"\x81\x20\xff\xfe\x80"  # lead bytes without valid trail bytes: not GB18030


class ScannerSimulator:
    def __init__(self, trigger: str = "continuous", suffix: str = "CR", prefix: str = "",
                 encoding: str = "gb18030", aim: bool = True, link: str | os.PathLike | None = None):
        if trigger not in TRIGGER_MODES:
            raise ValueError(f"unknown trigger mode {trigger!r} (choose from {', '.join(TRIGGER_MODES)})")
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r} (choose from {', '.join(ENCODINGS)})")
        self.trigger, self.encoding, self.aim = trigger, encoding, aim
        self.suffix_name, self.prefix_name = suffix, prefix
        self.suffix, self.prefix = suffix_bytes(suffix), suffix_bytes(prefix)
        self._lock = threading.Lock()
        self._heard = threading.Condition(self._lock)
        self._glass: list[bytes] = []   # codes waiting for a trigger
        self._armed = False
        self.commands: list[str] = []   # trigger commands received ("on"/"off"), for tests
        self.link = Path(link) if link else None
        self._master = self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inbuf = b""
        self.plug()

    # --- the port ------------------------------------------------------------------
    @property
    def plugged(self) -> bool:
        return self._master >= 0

    @property
    def path(self) -> str:
        return str(self.link) if self.link else self.slave_path

    @property
    def url(self) -> str:
        q = f"suffix={self.suffix_name}&encoding={self.encoding}&trigger={self.trigger}"
        if self.prefix_name:
            q += f"&prefix={self.prefix_name}"
        return f"serial://{self.path}?baud=9600&{q}"

    def plug(self) -> None:
        with self._lock:
            if self._master >= 0:
                return
            self._master, self._slave, self.slave_path = pty.open_raw()
            if self.link is not None:
                pty.point_link(self.link, self.slave_path)

    def unplug(self) -> None:
        with self._lock:
            pty.close(self._master, self._slave)
            self._master = self._slave = -1
            self._armed, self._glass = False, []
            pty.drop_link(self.link)

    # --- controls ------------------------------------------------------------------
    def encode(self, text: str, symbology: str | None = None) -> bytes:
        ident = ""
        if symbology and self.aim:
            ident = symbology if symbology.startswith("]") else AIM_PREFIX[symbology]
        return self.prefix + (ident + text).encode(self.encoding) + self.suffix

    def scan(self, text: str, symbology: str | None = None, repeat: int = 1) -> None:
        """A code read by the scanner (``repeat`` > 1: read again at once, as a
        continuous-mode scanner does with a code held under it)."""
        self._present(self.encode(text, symbology) * max(1, repeat))

    def garbled(self) -> None:
        self._present(self.prefix + GARBLED + self.suffix)

    def partial(self, text: str = "http://") -> None:
        self._present(self.prefix + text.encode(self.encoding))

    def wait_commands(self, count: int, timeout: float = 5.0) -> list[str]:
        """The trigger commands heard, once there are ``count`` of them (or at ``timeout``)."""
        with self._heard:
            self._heard.wait_for(lambda: len(self.commands) >= count, timeout)
            return list(self.commands)

    def _present(self, data: bytes) -> None:
        with self._lock:
            if self.trigger == "continuous" or self._armed:
                self._armed = False
                self._send(data)
            else:
                self._glass.append(data)

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> ScannerSimulator:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sim-scanner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        self.unplug()

    def __enter__(self) -> ScannerSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self._master
            if fd < 0:
                self._stop.wait(0.05)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                data = os.read(fd, 256) if ready else b""
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError):  # unplugged meanwhile, or no reader yet
                self._stop.wait(0.05)
                continue
            if data:
                self._commands(data)

    def _commands(self, data: bytes) -> None:
        if self.trigger not in TRIGGERS:
            return
        on, off = TRIGGERS[self.trigger]
        with self._lock:
            self._inbuf = (self._inbuf + data)[-64:]
            while True:
                hits = [(self._inbuf.find(c), c) for c in (on, off) if c in self._inbuf]
                if not hits:
                    return
                i, cmd = min(hits)
                self._inbuf = self._inbuf[i + len(cmd):]
                self.commands.append("on" if cmd == on else "off")
                self._heard.notify_all()
                if self.trigger in TRIGGER_ACKS:
                    self._send(TRIGGER_ACKS[self.trigger])
                self._armed = cmd == on
                if self._armed and self._glass:
                    self._armed = False
                    self._send(self._glass.pop(0))

    def _send(self, data: bytes) -> None:
        if self._master < 0:
            return  # unplugged: nothing reaches the host
        try:
            os.write(self._master, data)
        except OSError:
            pass


# --- registry entry ---------------------------------------------------------------------
def start_for_device(name: str, options: dict, workdir: Path) -> ScannerSimulator:
    """Starter used by DeviceManager for ``sim://``; the port gets a stable link
    in the work dir so unplug/plug keep its name."""
    sim = ScannerSimulator(trigger=str(options.get("trigger", "continuous")), suffix=str(options.get("suffix", "CR")),
                           prefix=str(options.get("prefix", "")), encoding=str(options.get("encoding", "gb18030")),
                           link=Path(workdir) / f"scanner-{name}")
    return sim.start()


# --- kiosk sim scanner ---------------------------------------------------------------------
HELP_COMMANDS = "commands: scan TEXT [SYMBOLOGY] | garbled | partial [TEXT] | unplug | plug | quit"


@click.command("scanner")
@click.option("--link", type=click.Path(dir_okay=False), help="Create this symlink to the simulated serial port.")
@click.option("--trigger", type=click.Choice(TRIGGER_MODES), default="continuous", show_default=True)
@click.option("--suffix", default="CR", show_default=True, help="CR, LF, CRLF, TAB or a literal.")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="gb18030", show_default=True)
def cli(link: str | None, trigger: str, suffix: str, encoding: str) -> None:
    """Simulated QR/barcode scanner on a pty (serial bytes of a USB-CDC scanner).

    Prints the serial URL to use, then reads control commands on stdin."""
    try:
        sim = ScannerSimulator(trigger=trigger, suffix=suffix, encoding=encoding, link=link)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    sim.start()
    click.echo(sim.url)
    click.echo(HELP_COMMANDS, err=True)
    sys.stdout.flush()
    try:
        run_console(lambda words: _control(sim, words))
    finally:
        sim.stop()


def _control(sim: ScannerSimulator, words: list[str]) -> None:
    cmd, args = (words[0], words[1:]) if words else ("", [])
    try:
        if cmd == "scan" and args:
            sim.scan(args[0], args[1] if len(args) > 1 else None)
        elif cmd == "garbled":
            sim.garbled()
        elif cmd == "partial":
            sim.partial(*args[:1])
        elif cmd in ("unplug", "plug"):
            getattr(sim, cmd)()
        elif cmd:
            click.echo(HELP_COMMANDS, err=True)
    except (KeyError, ValueError, UnicodeEncodeError) as exc:
        click.echo(f"error: {exc}", err=True)
