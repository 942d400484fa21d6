"""What scanners put on the wire: framing, AIM symbology identifiers, text
decoding, vendor trigger commands, and repeated-scan suppression.

Pure functions and small state machines, shared by the serial driver, the
keyboard-wedge decoder, the camera path and the simulator.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from devices.base import DeviceError, DeviceState

# Suffix names as scanner setup manuals spell them; any other value is taken
# literally (with \r \n \t escapes), e.g. "\x03" for ETX.
SUFFIXES: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}
ENCODINGS = ("gb18030", "ascii", "utf-8")

# AIM ISO/IEC 15424 symbology identifiers: "]" + code character + modifier.
# (code, modifier or "" for any) -> our symbology name.
_AIM: dict[tuple[str, str], str] = {
    ("Q", ""): "qr",
    ("E", "0"): "ean13",       # also UPC-A, sent as EAN-13 with a leading 0
    ("E", "4"): "ean8",
    ("E", ""): "ean-upc",
    ("C", "1"): "gs1-128",
    ("C", ""): "code128",
    ("A", ""): "code39",
    ("G", ""): "code93",
    ("F", ""): "codabar",
    ("I", ""): "itf",
    ("d", "2"): "gs1-datamatrix",
    ("d", ""): "datamatrix",
    ("L", ""): "pdf417",
    ("z", ""): "aztec",
    ("e", ""): "gs1-databar",
    ("X", ""): "other",
}
_AIM_RE = re.compile(r"^\]([A-Za-z])([0-9A-Za-z])")
# our name -> the identifier a scanner would prefix (the simulator sends these)
AIM_PREFIX: dict[str, str] = {
    "qr": "]Q1", "ean13": "]E0", "ean8": "]E4", "code128": "]C0", "gs1-128": "]C1", "code39": "]A0",
    "code93": "]G0", "codabar": "]F0", "itf": "]I0", "datamatrix": "]d1", "gs1-datamatrix": "]d2",
    "pdf417": "]L0", "aztec": "]z0", "gs1-databar": "]e0", "other": "]X0",
}


def split_aim(line: str) -> tuple[str, str | None]:
    """(payload, symbology) of a line that may start with an AIM identifier;
    a "]" followed by an unknown code letter is payload."""
    m = _AIM_RE.match(line)
    if not m:
        return line, None
    code, modifier = m.group(1), m.group(2)
    name = _AIM.get((code, modifier)) or _AIM.get((code, ""))
    if name is None:
        return line, None
    return line[3:], name


def suffix_bytes(value: str) -> bytes:
    """Bytes of a configured suffix or prefix: a manual's name or a literal."""
    if not value:
        return b""
    named = SUFFIXES.get(value.upper())
    if named is not None:
        return named
    return value.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


@dataclass(frozen=True)
class Scan:
    text: str
    symbology: str | None = None
    at: float = 0.0  # time.monotonic() when it arrived

    def as_dict(self) -> dict:
        return {"text": self.text, "symbology": self.symbology}


def scan_error(key: str, **kwargs) -> DeviceError:
    """A bad scan is the resident's to repeat: the device itself is fine."""
    return DeviceError(key, DeviceState.ONLINE, **kwargs)


def decode_line(raw: bytes, encoding: str, prefix: bytes = b"", aim: bool = True, at: float = 0.0) -> Scan:
    """One framed line (suffix removed) to a Scan; DeviceError when garbled."""
    if prefix:
        if not raw.startswith(prefix):
            raise scan_error("scanner.garbled", reason="missing prefix")
        raw = raw[len(prefix):]
    try:
        line = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise scan_error("scanner.garbled", reason=f"not valid {encoding}") from None
    return text_to_scan(line, aim, at)


def text_to_scan(line: str, aim: bool = True, at: float = 0.0) -> Scan:
    if any(ord(c) < 0x20 and c not in "\x1d\x1e\x04" for c in line) or "\ufffd" in line:
        # control characters other than GS1/ISO 15434 separators: line noise
        raise scan_error("scanner.garbled", reason="control characters")
    payload, symbology = split_aim(line) if aim else (line, None)
    if not payload:
        raise scan_error("scanner.garbled", reason="empty")
    return Scan(payload, symbology, at or time.monotonic())


class LineFramer:
    """Cuts a byte stream into lines at ``suffix``; remembers when the
    unfinished line last grew so a partial scan can be told from silence."""

    def __init__(self, suffix: bytes, max_len: int = 8192, drop: bytes = b""):
        if not suffix:
            raise ValueError("a scanner line needs a suffix")
        self.suffix = suffix
        self.drop = drop  # a packet the scanner interleaves (Zebra's CMD_ACK), even split across reads
        self.max_len = max_len
        self._buf = bytearray()
        self.last_byte_at: float | None = None

    def feed(self, data: bytes, now: float | None = None) -> list[bytes]:
        if data:
            self._buf += data
            if self.drop and self.drop in self._buf:
                self._buf = bytearray(self._buf.replace(self.drop, b""))
            self.last_byte_at = time.monotonic() if now is None else now
        lines = []
        while (i := self._buf.find(self.suffix)) >= 0:
            line = bytes(self._buf[:i])
            del self._buf[: i + len(self.suffix)]
            if line.strip(b"\r\n"):
                lines.append(line.strip(b"\r\n") if self.suffix in (b"\r", b"\n") else line)
        if len(self._buf) > self.max_len:  # a stream that never ends a line
            self._buf.clear()
            raise scan_error("scanner.garbled", reason="line too long")
        if not self._buf:
            self.last_byte_at = None
        return lines

    @property
    def pending(self) -> bytes:
        return bytes(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self.last_byte_at = None


class RepeatFilter:
    """Drops a scan identical to the last accepted one within ``window_s``:
    a scanner in continuous mode reads a phone held under it many times."""

    def __init__(self, window_s: float = 1.5):
        self.window_s = float(window_s)
        self._last: Scan | None = None

    def accept(self, scan: Scan) -> bool:
        last = self._last
        if (last is not None and self.window_s > 0 and last.text == scan.text
                and last.symbology == scan.symbology and scan.at - last.at < self.window_s):
            self._last = Scan(scan.text, scan.symbology, scan.at)  # a held code keeps being suppressed
            return False
        self._last = scan
        return True


# --- vendor command-mode triggers ---------------------------------------------
# Honeywell (Xenon, Voyager, Granit user guides, "Serial Trigger Mode"): the host
# sends SYN T CR to start a read and SYN U CR to stop it.
HONEYWELL_ON, HONEYWELL_OFF = b"\x16T\r", b"\x16U\r"
# Newland (NLS-HR/FR user guides, "Command Triggered Mode"): ESC "1" starts
# scanning, ESC "0" stops it.
NEWLAND_ON, NEWLAND_OFF = b"\x1b1", b"\x1b0"
# Zebra/Symbol Simple Serial Interface (SSI programmer's guide): START_DECODE
# (opcode 0xE4) and STOP_DECODE (0xE5) packets: length, opcode, source 0x04
# (host), status 0, then the 16-bit two's complement of the byte sum.  The
# scanner answers CMD_ACK (0xD0) from source 0 (decoder); decode data itself
# comes raw with the configured suffix (parameter "decode data packet format"
# left at its default, raw).


def ssi_packet(opcode: int, source: int = 0x04, status: int = 0x00, data: bytes = b"") -> bytes:
    body = bytes([4 + len(data), opcode, source, status]) + data
    return body + ((0x10000 - sum(body)) & 0xFFFF).to_bytes(2, "big")


ZEBRA_ON, ZEBRA_OFF = ssi_packet(0xE4), ssi_packet(0xE5)
ZEBRA_ACK = ssi_packet(0xD0, source=0x00)

TRIGGERS: dict[str, tuple[bytes, bytes]] = {
    "honeywell": (HONEYWELL_ON, HONEYWELL_OFF),
    "newland": (NEWLAND_ON, NEWLAND_OFF),
    "zebra": (ZEBRA_ON, ZEBRA_OFF),
}
TRIGGER_MODES = ("continuous", *TRIGGERS)
# what a scanner may send back for a trigger command (removed from the stream)
TRIGGER_ACKS: dict[str, bytes] = {"zebra": ZEBRA_ACK}
