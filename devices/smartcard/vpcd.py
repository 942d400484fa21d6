"""A virtual card served to a real pcscd through the vsmartcard vpcd driver.

vpcd listens on TCP 35963 (reader slot 0, "Virtual PCD 00 00") and 35964
(slot 1). A card "is inserted" while a client is connected and answers the
ATR request; closing the connection removes it. Wire format, both ways:
2-byte big-endian length + payload. A 1-byte payload from vpcd is a control
(00 power off, 01 power on, 02 reset, 04 send ATR, answered with the ATR);
anything longer is a command APDU, answered with data + SW1 SW2.

Debian's own client (vicc) does not run on current Python, and the protocol
is a few lines, so it is spoken here directly.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

from .cards import VirtualCard

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963
VPCD_SLOTS = 2
READER_PREFIX = "Virtual PCD 00"

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


def reader_name(slot: int) -> str:
    return f"{READER_PREFIX} {slot:02X}"


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("vpcd frame payload longer than 65535 bytes")
    return struct.pack(">H", len(payload)) + payload


class FrameDecoder:
    """Splits a byte stream into vpcd payloads, whatever the TCP segmentation."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while len(self._buf) >= 2:
            size = struct.unpack(">H", self._buf[:2])[0]
            if len(self._buf) < 2 + size:
                break
            out.append(bytes(self._buf[2:2 + size]))
            del self._buf[:2 + size]
        return out


def respond(card: VirtualCard, payload: bytes) -> bytes | None:
    """The answer to one vpcd payload, or None when vpcd expects none."""
    if len(payload) == 1:
        ctrl = payload[0]
        if ctrl == CTRL_ATR:
            return card.atr
        if ctrl in (CTRL_ON, CTRL_RESET):
            card.power_on()
        return None  # power off/on/reset carry no answer
    return card.process(payload)


def _lock_dir() -> Path:
    for base in (Path("/run/lock"), Path(tempfile.gettempdir())):
        d = base / f"kiosk-vpcd-{os.getuid()}"
        try:
            d.mkdir(mode=0o700, exist_ok=True)
            return d
        except OSError:
            continue
    raise OSError("no writable lock directory")


class SlotLock:
    """Exclusive use of one vpcd slot across processes.

    vpcd accepts one card per slot; a second client would sit unserved in the
    listen backlog, so two simulators on one machine each take their own slot.
    The lock is an flock, released automatically if the process dies.
    """

    def __init__(self, slot: int):
        self.slot = slot
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(_lock_dir() / f"slot-{self.slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim_slot(preferred: int | None = None, wait_s: float = 0.0) -> SlotLock:
    """Lock a free slot, waiting up to ``wait_s`` for another simulator to let one go."""
    order = [preferred] if preferred is not None else list(range(VPCD_SLOTS))
    deadline = time.monotonic() + wait_s
    while True:
        for slot in order:
            lock = SlotLock(slot)
            if lock.acquire():
                return lock
        if time.monotonic() >= deadline:
            raise RuntimeError("all virtual reader slots are in use by other simulators"
                               if preferred is None else f"virtual reader slot {preferred} is in use")
        time.sleep(0.2)


class VirtualCardServer:
    """Keeps one virtual card connected to vpcd while it is inserted.

    Reconnects when pcscd restarts (the connection drops, the card stays
    "inserted" and is offered again as soon as vpcd listens). ``pull_after(n)``
    drops the connection when the n-th APDU arrives, without answering it: a
    card pulled out half-way through a read.
    """

    def __init__(self, host: str = VPCD_HOST, port: int = VPCD_PORT, card: VirtualCard | None = None):
        self.host, self.port = host, port
        self._card = card
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._generation = 0          # bumps on insert/remove so the serve loop drops the old card
        self._pull_after: int | None = None
        self.apdus = 0                # APDUs answered on the current connection
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------
    def start(self) -> VirtualCardServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"vpcd-card-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def insert(self, card: VirtualCard) -> None:
        with self._lock:
            self._card = card
            self._generation += 1
            self._pull_after = None
        self._wake.set()

    def remove(self) -> None:
        with self._lock:
            self._card = None
            self._generation += 1
        self._wake.set()

    def pull_after(self, apdus: int | None) -> None:
        """Pull the card when the ``apdus``-th APDU of the next session arrives (None: never)."""
        with self._lock:
            self._pull_after = apdus

    @property
    def card(self) -> VirtualCard | None:
        return self._card

    @property
    def connected(self) -> bool:
        """True once vpcd has accepted the card and talked to it."""
        return self._connected.is_set()

    # --- loop ----------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            with self._lock:
                card, generation = self._card, self._generation
            if card is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                # pcscd (or its vpcd driver) not listening yet: retry quietly
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.1
            try:
                self._serve(sock, card, generation)
            except OSError as exc:  # pcscd died mid-answer; reconnect
                log.debug("vpcd connection lost", extra={"port": self.port, "reason": str(exc)})
            finally:
                self._connected.clear()
                sock.close()

    def _serve(self, sock: socket.socket, card: VirtualCard, generation: int) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one small answer per request
        sock.setblocking(False)
        decoder = FrameDecoder()
        self.apdus = 0
        card.power_on()
        log.debug("virtual card offered", extra={"port": self.port, "kind": card.kind})
        while not self._stop.is_set() and generation == self._generation:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if not readable:
                continue
            try:
                # vpcd writes the length and the payload as two segments; with Nagle on
                # its side, a delayed ACK here would cost 40 ms per APDU
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                chunk = sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            if not chunk:  # pcscd went away; reconnect in _run
                log.debug("vpcd closed the connection", extra={"port": self.port})
                return
            # vpcd accepts on its next presence poll; the first request means the reader sees the card
            self._connected.set()
            for payload in decoder.feed(chunk):
                if len(payload) > 1:
                    self.apdus += 1
                    if self._pull_after is not None and self.apdus >= self._pull_after:
                        with self._lock:
                            self._pull_after = None
                            if generation == self._generation:
                                self._card = None
                                self._generation += 1
                        return
                answer = respond(card, payload)
                if answer is not None:
                    sock.setblocking(True)
                    sock.sendall(encode_frame(answer))
                    sock.setblocking(False)
        # stopped, removed or replaced: closing the socket is the removal

