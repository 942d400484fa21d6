"""Keyboard-wedge decoding: evdev key events (type, code, value) to text.

USB HID scanners type what they read.  This decoder turns the key events of
one such device into characters with the US layout (shift, caps lock, Ctrl
for GS1 separators) and the Alt+numpad sequences scanners use for characters
that have no key: Chinese as the GBK/GB18030 code in decimal ("Alt mode" of
most scanners configured for Chinese Windows) or as the Unicode code point in
decimal.  A line ends at Enter (or Tab when so configured).

Codes are the kernel's (linux/input-event-codes.h), so the decoder needs no
evdev import and recorded streams can be replayed anywhere.
"""

from __future__ import annotations

import time

from devices.base import DeviceError

from .protocol import Scan, scan_error, text_to_scan

EV_KEY = 0x01
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2
KEY_TAB, KEY_ENTER, KEY_KPENTER = 15, 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_CAPSLOCK, KEY_NUMLOCK = 58, 69
_SHIFTS, _CTRLS, _ALTS = {KEY_LEFTSHIFT, KEY_RIGHTSHIFT}, {KEY_LEFTCTRL, KEY_RIGHTCTRL}, {KEY_LEFTALT, KEY_RIGHTALT}

# code -> (plain, shifted) on a US keyboard
US_KEYS: dict[int, tuple[str, str]] = {}
for _codes, _plain, _shifted in (
    (range(2, 14), "1234567890-=", "!@#$%^&*()_+"),
    (range(16, 28), "qwertyuiop[]", "QWERTYUIOP{}"),
    (range(30, 42), "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (range(43, 54), "\\zxcvbnm,./", "|ZXCVBNM<>?"),
):
    for _code, _p, _s in zip(_codes, _plain, _shifted):
        US_KEYS[_code] = (_p, _s)
US_KEYS[57] = (" ", " ")
# keypad: digits and operators (also the digits of Alt+numpad sequences)
KEYPAD: dict[int, str] = {71: "7", 72: "8", 73: "9", 75: "4", 76: "5", 77: "6", 79: "1", 80: "2", 81: "3",
                          82: "0", 55: "*", 74: "-", 78: "+", 83: ".", 98: "/"}
_IGNORED = {KEY_CAPSLOCK, KEY_NUMLOCK, 125, 126}  # lock keys and the Windows keys


def alt_code_char(digits: str, alt_codes: str) -> str:
    """The character an Alt+numpad sequence stands for."""
    n = int(digits)
    if alt_codes == "unicode":
        if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
            raise scan_error("scanner.garbled", reason=f"Alt+{digits} is no character")
        return chr(n)
    if n <= 0xFF:
        raw = bytes([n])
    elif n <= 0xFFFF:
        raw = n.to_bytes(2, "big")  # GBK / GB18030 two-byte code
    else:
        raw = n.to_bytes(4, "big")  # GB18030 four-byte code
    try:
        return raw.decode("gb18030") if n > 0x7F else raw.decode("latin-1")
    except UnicodeDecodeError:
        raise scan_error("scanner.garbled", reason=f"Alt+{digits} is not a GB18030 code") from None


class KeyDecoder:
    """Feed (type, code, value) events; complete lines come back as Scans.

    ``alt_codes``: "gbk" (GBK/GB18030 code, Windows ANSI code page 936) or
    "unicode".  ``suffix``: "CR" (Enter) or "TAB"."""

    def __init__(self, alt_codes: str = "gbk", suffix: str = "CR", aim: bool = True, max_len: int = 4096):
        if alt_codes not in ("gbk", "unicode"):
            raise ValueError("alt_codes must be gbk or unicode")
        self.alt_codes = alt_codes
        self.end_keys = {KEY_TAB} if suffix.upper() == "TAB" else {KEY_ENTER, KEY_KPENTER}
        self.aim = aim
        self.max_len = max_len
        self.reset()

    def reset(self) -> None:
        self._held: set[int] = set()
        self._caps = False
        self._alt_digits = ""
        self._chars: list[str] = []
        self._problem: str | None = None
        self._error: DeviceError | None = None
        self.last_key_at: float | None = None

    @property
    def pending(self) -> bool:
        """Part of a line has been typed and not ended yet."""
        return bool(self._chars or self._alt_digits or self._problem)

    def feed(self, etype: int, code: int, value: int, now: float | None = None) -> list[Scan]:
        """Decode one event; a finished line comes back (or a DeviceError for a garbled one)."""
        if etype != EV_KEY:
            return []
        now = time.monotonic() if now is None else now
        if value == KEY_UP:
            self._held.discard(code)
            if code in _ALTS and self._alt_digits and not (self._held & _ALTS):
                digits, self._alt_digits = self._alt_digits, ""
                self._add(lambda: alt_code_char(digits, self.alt_codes))
            return []
        if value == KEY_REPEAT:
            return []
        self._held.add(code)
        self.last_key_at = now
        if code in _SHIFTS or code in _CTRLS or code in _ALTS or code in _IGNORED:
            if code == KEY_CAPSLOCK:
                self._caps = not self._caps
            return []
        if code in self.end_keys:
            return self._end(now)
        if self._held & _ALTS and code in KEYPAD and KEYPAD[code].isdigit():
            self._alt_digits += KEYPAD[code]
            return []
        self._add(lambda: self._char(code))
        return []

    def _char(self, code: int) -> str:
        if code in KEYPAD:
            return KEYPAD[code]
        if code == KEY_TAB:
            return "\t"
        if code not in US_KEYS:
            raise scan_error("scanner.garbled", reason=f"key code {code} types no character")
        plain, shifted = US_KEYS[code]
        shift = bool(self._held & _SHIFTS)
        if plain.isalpha() and self._caps:
            shift = not shift
        ch = shifted if shift else plain
        if self._held & _CTRLS:  # Ctrl+] is GS, the GS1 field separator
            return chr(ord(ch.upper()) & 0x1F) if ch.upper() in "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_" else ch
        return ch

    def _add(self, make) -> None:
        if self._problem:
            return
        try:
            self._chars.append(make())
        except DeviceError as exc:  # a garbled key: the line is reported when it ends
            self._problem, self._error = str(exc), exc
        if len(self._chars) > self.max_len:
            self._chars.clear()
            self._problem = "line too long"
            self._error = scan_error("scanner.garbled", reason="line too long")

    def _end(self, now: float) -> list[Scan]:
        chars, error = "".join(self._chars), self._error
        self._chars, self._problem, self._alt_digits, self._error = [], None, "", None
        if error is not None:
            raise error
        if not chars:
            return []
        return [text_to_scan(chars, self.aim, now)]


def decode_events(events, **options) -> list[Scan]:
    """Every Scan in a recorded stream of (type, code, value) tuples (tests, tools)."""
    decoder = KeyDecoder(**options)
    out: list[Scan] = []
    for etype, code, value in events:
        out += decoder.feed(etype, code, value)
    return out
