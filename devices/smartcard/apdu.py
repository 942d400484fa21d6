"""ISO 7816-4 APDUs and BER-TLV: pure bytes in, values out.

Shared by the driver (building commands, parsing answers) and the virtual
cards (parsing commands, building answers). pyscard moves bytes but has no
BER-TLV codec that handles multi-byte tags and long lengths the way EMV
records need, hence this small module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# --- status words ------------------------------------------------------------
SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_RECORD_NOT_FOUND = 0x6A83
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

_SW_TEXT = {
    SW_OK: "success",
    SW_WRONG_LENGTH: "wrong length",
    SW_SECURITY_NOT_SATISFIED: "security status not satisfied",
    SW_NO_CURRENT_EF: "command not allowed (no current EF)",
    SW_WRONG_DATA: "incorrect data field",
    SW_FUNC_NOT_SUPPORTED: "function not supported",
    SW_FILE_NOT_FOUND: "file or application not found",
    SW_RECORD_NOT_FOUND: "record not found",
    SW_WRONG_P1P2: "wrong parameters P1-P2",
    SW_INS_NOT_SUPPORTED: "instruction not supported",
    SW_CLA_NOT_SUPPORTED: "class not supported",
}

INS_SELECT = 0xA4
INS_READ_RECORD = 0xB2
INS_READ_BINARY = 0xB0
INS_GET_RESPONSE = 0xC0
INS_GPO = 0xA8


def sw_text(sw: int) -> str:
    if sw >> 8 == 0x61:
        return f"{sw & 0xFF} more bytes available"
    if sw >> 8 == 0x6C:
        return f"wrong Le, exact length is {sw & 0xFF}"
    return _SW_TEXT.get(sw, "card error")


class ApduError(ValueError):
    """Malformed APDU or TLV bytes."""


@dataclass(frozen=True)
class Command:
    """A short command APDU (cases 1-4). ``le=None`` means no Le byte;
    ``le=0`` is sent as 00 (up to 256 bytes)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def to_bytes(self) -> bytes:
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if len(self.data) > 255:
            raise ApduError("command data longer than 255 bytes needs extended APDUs")
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le & 0xFF,))
        return out

    @classmethod
    def parse(cls, raw: bytes) -> Command:
        raw = bytes(raw)
        if len(raw) < 4:
            raise ApduError(f"APDU shorter than 4 bytes: {raw.hex()}")
        head, body = raw[:4], raw[4:]
        if not body:  # case 1
            return cls(*head)
        if len(body) == 1:  # case 2: Le only
            return cls(*head, le=body[0])
        lc = body[0]
        if lc == 0 or len(body) not in (1 + lc, 2 + lc):
            raise ApduError(f"Lc {lc} does not match {len(body) - 1} body bytes")
        le = body[1 + lc] if len(body) == 2 + lc else None
        return cls(*head, data=body[1:1 + lc], le=le)


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def to_bytes(self) -> bytes:
        return bytes(self.data) + self.sw.to_bytes(2, "big")

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduError(f"response shorter than 2 bytes: {raw.hex()}")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def __str__(self) -> str:
        return f"SW {self.sw:04X} ({sw_text(self.sw)})"


def status(sw: int, data: bytes = b"") -> bytes:
    return Response(data, sw).to_bytes()


# --- command builders --------------------------------------------------------
def select_by_name(name: bytes, first: bool = True) -> Command:
    """SELECT by DF name (application or PSE), asking for the FCI."""
    return Command(0x00, INS_SELECT, 0x04, 0x00 if first else 0x02, bytes(name), 0)


def select_ef(fid: int) -> Command:
    """SELECT an EF under the current DF by its two-byte file identifier."""
    return Command(0x00, INS_SELECT, 0x02, 0x00, fid.to_bytes(2, "big"))


def read_record(number: int, sfi: int | None = None, le: int = 0) -> Command:
    """READ RECORD ``number`` of the current EF, or of the EF with short id ``sfi``."""
    p2 = 0x04 if sfi is None else ((sfi << 3) | 0x04)
    return Command(0x00, INS_READ_RECORD, number, p2, b"", le)


def get_response(length: int) -> Command:
    return Command(0x00, INS_GET_RESPONSE, 0x00, 0x00, b"", length)


def get_processing_options(pdol_data: bytes) -> Command:
    return Command(0x80, INS_GPO, 0x00, 0x00, tlv(0x83, pdol_data), 0)


# --- BER-TLV -----------------------------------------------------------------
@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        return bool(_first_tag_byte(self.tag) & 0x20)

    def children(self) -> list[Tlv]:
        return parse_tlv(self.value) if self.constructed else []


def _first_tag_byte(tag: int) -> int:
    return tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")[0]


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    raise ApduError(f"TLV value too long: {n}")


def tlv(tag: int, value: bytes | list[bytes]) -> bytes:
    """Encode one TLV; ``value`` may be a list of already encoded children."""
    body = b"".join(value) if isinstance(value, list) else bytes(value)
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return tag_bytes + encode_length(len(body)) + body


def _read_tag(data: bytes, i: int) -> tuple[int, int]:
    """The BER tag starting at ``i`` and the index after it."""
    tag = data[i]
    i += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag: continue while bit 8 is set
        while True:
            if i >= len(data):
                raise ApduError("truncated tag")
            tag = (tag << 8) | data[i]
            i += 1
            if not data[i - 1] & 0x80:
                break
    return tag, i


def iter_tlv(data: bytes) -> Iterator[Tlv]:
    data = bytes(data)
    i = 0
    while i < len(data):
        if data[i] in (0x00, 0xFF):  # padding between objects (ISO 7816-4 5.2.2.1)
            i += 1
            continue
        tag, i = _read_tag(data, i)
        if i >= len(data):
            raise ApduError(f"tag {tag:X} without length")
        length = data[i]
        i += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 3 or i + count > len(data):
                raise ApduError(f"bad length field for tag {tag:X}")
            length = int.from_bytes(data[i:i + count], "big")
            i += count
        if i + length > len(data):
            raise ApduError(f"tag {tag:X} claims {length} bytes, {len(data) - i} left")
        yield Tlv(tag, data[i:i + length])
        i += length


def parse_tlv(data: bytes) -> list[Tlv]:
    return list(iter_tlv(data))


def find_tlv(data: bytes | list[Tlv], tag: int) -> bytes | None:
    """The value of the first ``tag`` at any depth, or None."""
    items = parse_tlv(data) if isinstance(data, (bytes, bytearray)) else data
    for item in items:
        if item.tag == tag:
            return item.value
        if item.constructed:
            found = find_tlv(item.children(), tag)
            if found is not None:
                return found
    return None


def parse_dol(dol: bytes) -> list[tuple[int, int]]:
    """A data object list (PDOL, CDOL): tags with lengths, no values."""
    out: list[tuple[int, int]] = []
    data, i = bytes(dol), 0
    while i < len(data):
        tag, i = _read_tag(data, i)
        if i >= len(data):
            raise ApduError("DOL entry without length")
        out.append((tag, data[i]))
        i += 1
    return out


# --- value codecs ------------------------------------------------------------
def bcd(digits: str) -> bytes:
    """Digits as packed BCD, padded with F to a whole byte."""
    s = digits + ("F" if len(digits) % 2 else "")
    return bytes.fromhex(s)


def unbcd(raw: bytes) -> str:
    return raw.hex().upper().rstrip("F")


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or len(number) < 12:
        return False
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit (bank card numbers)."""
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise ValueError(prefix)
