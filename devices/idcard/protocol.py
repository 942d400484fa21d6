"""GA 467 "SAM_V" serial protocol of second-generation ID-card readers.

Pure bytes in, values out: no I/O here, so every byte can be unit-tested.

Frame (both directions)::

    AA AA AA 96 69 | LEN_HI LEN_LO | payload | CHK

LEN counts the payload and CHK; CHK is the XOR of the two LEN bytes and the
payload.  A request payload is CMD PARA [data]; a response payload is
SW1 SW2 SW3 [data].

The framing is written by hand because no maintained library speaks SAM_V;
``FrameParser`` is incremental so a driver can read exactly the number of
bytes it still needs and a simulator can parse requests as they trickle in.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

from devices.base import DeviceError, DeviceState

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
MIN_LEN = 3            # a request is at least CMD PARA CHK
MAX_LEN = 0x0A00       # the longest response (text + photo + fingerprint) is 0x090A

TEXT_LEN = 256
PHOTO_LEN = 1024
FINGERPRINT_LEN = 1024
SAM_ID_LEN = 16
ADDRESS_LEN = 70       # newest address: 35 UCS-2 characters


class Command(enum.Enum):
    """(CMD, PARA) of every request the driver sends."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_NEWEST_ADDRESS = (0x30, 0x03)
    READ_WITH_FINGERPRINT = (0x30, 0x10)
    SET_BAUD = (0x60, 0x00)  # PARA carries the rate code, see BAUD_CODES

    @classmethod
    def lookup(cls, cmd: int, para: int) -> Command | None:
        if cmd == 0x60:
            return cls.SET_BAUD
        for c in cls:
            if c.value == (cmd, para):
                return c
        return None


BAUD_CODES = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}
BAUD_BY_CODE = {v: k for k, v in BAUD_CODES.items()}


# --- SW3 status codes ----------------------------------------------------
SW3_OK = 0x90
SW3_CARD_FOUND = 0x9F
SW3_NO_CONTENT = 0x91


@dataclass(frozen=True)
class Status:
    key: str               # catalog key in kiosk/core/strings/idcard.toml
    state: DeviceState     # what the failure says about the device
    retry: bool            # worth repeating the command on a noisy line


SW3_STATUS: dict[int, Status] = {
    0x10: Status("idcard.sw.checksum", DeviceState.HARDWARE_ERROR, True),
    0x11: Status("idcard.sw.length", DeviceState.HARDWARE_ERROR, True),
    0x21: Status("idcard.sw.command", DeviceState.HARDWARE_ERROR, False),
    0x23: Status("idcard.sw.unauthorised_operation", DeviceState.HARDWARE_ERROR, False),
    0x24: Status("idcard.sw.unknown_error", DeviceState.HARDWARE_ERROR, False),
    0x31: Status("idcard.sw.card_auth", DeviceState.USER_ERROR, True),
    0x32: Status("idcard.sw.reader_auth", DeviceState.USER_ERROR, True),
    0x33: Status("idcard.sw.verify", DeviceState.USER_ERROR, True),
    0x37: Status("idcard.sw.fingerprint_verify", DeviceState.USER_ERROR, True),
    0x3F: Status("idcard.sw.info_length", DeviceState.HARDWARE_ERROR, True),
    0x40: Status("idcard.sw.card_type", DeviceState.USER_ERROR, False),
    0x41: Status("idcard.sw.read_failed", DeviceState.USER_ERROR, True),
    0x47: Status("idcard.sw.random", DeviceState.HARDWARE_ERROR, False),
    0x60: Status("idcard.sw.sam_selftest", DeviceState.HARDWARE_ERROR, False),
    0x66: Status("idcard.sw.sam_unauthorised", DeviceState.HARDWARE_ERROR, False),
    0x80: Status("idcard.sw.no_card", DeviceState.ONLINE, False),
    0x81: Status("idcard.sw.select_failed", DeviceState.USER_ERROR, True),
    0x91: Status("idcard.sw.no_content", DeviceState.ONLINE, False),
}
SAM_FAULT_CODES = frozenset({0x23, 0x24, 0x47, 0x60, 0x66})


class ProtocolError(DeviceError):
    """A reader answered with a failure status, or a frame was malformed."""

    def __init__(self, key: str, state: DeviceState | None = None, sw3: int | None = None,
                 retry: bool = False, **kw):
        super().__init__(key, state, **kw)
        self.sw3 = sw3
        self.retry = retry


def status_error(sw3: int) -> ProtocolError | None:
    """The error for a response's SW3, or None when it reports success."""
    if sw3 in (SW3_OK, SW3_CARD_FOUND):
        return None
    st = SW3_STATUS.get(sw3)
    if st is None:
        return ProtocolError("idcard.sw.unknown", DeviceState.HARDWARE_ERROR, sw3=sw3, code=f"{sw3:02X}")
    return ProtocolError(st.key, st.state, sw3=sw3, retry=st.retry, code=f"{sw3:02X}")


# --- frames --------------------------------------------------------------
def checksum(data: Iterable[int]) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def build_frame(payload: bytes) -> bytes:
    if not 2 <= len(payload) <= MAX_LEN - 1:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    length = struct.pack(">H", len(payload) + 1)
    return PREAMBLE + length + payload + bytes([checksum(length + payload)])


def build_request(command: Command, data: bytes = b"", para: int | None = None) -> bytes:
    cmd, default_para = command.value
    return build_frame(bytes([cmd, default_para if para is None else para]) + data)


def build_response(sw3: int, data: bytes = b"", sw1: int = 0x00, sw2: int = 0x00) -> bytes:
    return build_frame(bytes([sw1, sw2, sw3]) + data)


def set_baud_request(baud: int) -> bytes:
    if baud not in BAUD_CODES:
        raise ValueError(f"baud rate {baud} not supported (choose {', '.join(map(str, BAUD_CODES))})")
    return build_request(Command.SET_BAUD, para=BAUD_CODES[baud])


@dataclass(frozen=True)
class Frame:
    payload: bytes   # between LEN and CHK
    raw: bytes       # the whole frame as received

    @property
    def command(self) -> tuple[int, int]:
        return self.payload[0], self.payload[1]


@dataclass(frozen=True)
class BadFrame:
    reason: str      # "checksum" or "length"
    raw: bytes


class FrameParser:
    """Incremental frame parser that resynchronises on the preamble.

    ``feed`` returns complete frames and rejected candidates in arrival order.
    Bytes before a preamble are counted in ``discarded``.  A rejected candidate
    (bad checksum, impossible length) gives up only its first byte, so a real
    frame that starts inside garbage is still found.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def needed(self) -> int:
        """How many more bytes complete the frame being received (at least 1).

        Reading exactly this many never consumes bytes of a following frame."""
        if len(self._buf) < HEADER_LEN:
            return HEADER_LEN - len(self._buf)
        length = (self._buf[5] << 8) | self._buf[6]
        return max(1, HEADER_LEN + length - len(self._buf))

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self._buf += data
        out: list[Frame | BadFrame] = []
        while True:
            if not self._sync():
                return out
            if len(self._buf) < HEADER_LEN:
                return out
            length = (self._buf[5] << 8) | self._buf[6]
            if not MIN_LEN <= length <= MAX_LEN:
                out.append(BadFrame("length", bytes(self._buf[:HEADER_LEN])))
                self._drop(1)
                continue
            end = HEADER_LEN + length
            if len(self._buf) < end:
                return out
            raw = bytes(self._buf[:end])
            if checksum(raw[5:-1]) != raw[-1]:
                out.append(BadFrame("checksum", raw))
                self._drop(1)
                continue
            out.append(Frame(raw[HEADER_LEN:-1], raw))
            del self._buf[:end]

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.discarded += n

    def _sync(self) -> bool:
        """Move the buffer start to a (possibly partial) preamble; False if empty."""
        i = self._buf.find(PREAMBLE)
        if i >= 0:
            if i:
                self._drop(i)
            return True
        # keep the longest tail that could still grow into a preamble
        keep = 0
        for k in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
            if self._buf.endswith(PREAMBLE[:k]):
                keep = k
                break
        self._drop(len(self._buf) - keep)
        return bool(self._buf)


def parse_frames(data: bytes) -> list[Frame | BadFrame]:
    return FrameParser().feed(data)


# --- responses -----------------------------------------------------------
@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @classmethod
    def from_frame(cls, frame: Frame) -> Response:
        p = frame.payload
        if len(p) < 3:
            raise ProtocolError("idcard.frame_length", DeviceState.HARDWARE_ERROR, retry=True)
        return cls(p[0], p[1], p[2], p[3:])

    @property
    def ok(self) -> bool:
        return self.sw3 in (SW3_OK, SW3_CARD_FOUND)

    def error(self) -> ProtocolError | None:
        return status_error(self.sw3)

    def check(self) -> Response:
        err = self.error()
        if err is not None:
            raise err
        return self


@dataclass(frozen=True)
class CardData:
    text: bytes
    photo: bytes
    fingerprint: bytes | None = None


def build_read_data(text: bytes, photo: bytes, fingerprint: bytes | None = None) -> bytes:
    lengths = [len(text), len(photo)] + ([len(fingerprint)] if fingerprint is not None else [])
    return struct.pack(f">{len(lengths)}H", *lengths) + text + photo + (fingerprint or b"")


def parse_read_data(data: bytes, with_fingerprint: bool = False) -> CardData:
    """Split a 30 01 / 30 10 answer into text, photo (and fingerprint)."""
    n = 3 if with_fingerprint else 2
    if len(data) < 2 * n:
        raise ProtocolError("idcard.frame_length", DeviceState.HARDWARE_ERROR, retry=True)
    lengths = struct.unpack(f">{n}H", data[: 2 * n])
    if lengths[0] != TEXT_LEN or lengths[1] != PHOTO_LEN or len(data) != 2 * n + sum(lengths):
        raise ProtocolError("idcard.frame_length", DeviceState.HARDWARE_ERROR, retry=True)
    body = data[2 * n:]
    text, photo = body[:TEXT_LEN], body[TEXT_LEN:TEXT_LEN + PHOTO_LEN]
    fingerprint = body[TEXT_LEN + PHOTO_LEN:] if with_fingerprint else None
    return CardData(text, photo, fingerprint)


def format_sam_id(data: bytes) -> str:
    """The printed form of a 16-byte SAM id, e.g. ``05.01-20230615-0000012345-0000067890``.

    Fields are little-endian: two 16-bit numbers, then three 32-bit numbers."""
    if len(data) != SAM_ID_LEN:
        raise ProtocolError("idcard.frame_length", DeviceState.HARDWARE_ERROR, retry=True)
    a, b, c, d, e = struct.unpack("<HHIII", data)
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"


def build_sam_id(text: str) -> bytes:
    """Inverse of ``format_sam_id`` (for the simulator)."""
    head, c, d, e = text.split("-")
    a, b = head.split(".")
    return struct.pack("<HHIII", int(a), int(b), int(c), int(d), int(e))


def wire_seconds(nbytes: int, baud: int) -> float:
    """Time a UART at ``baud`` (8N1: 10 bits per byte) needs for ``nbytes``."""
    return nbytes * 10.0 / baud
