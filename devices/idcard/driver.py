"""Second-generation ID-card reader driver (GA 467 SAM_V over a serial line).

Transport by URL through pyserial's ``serial_for_url``::

    serial:///dev/ttyUSB0?baud=115200   local UART / USB serial
    rfc2217://10.0.0.5:4001?baud=115200 serial-over-network (RFC 2217)
    socket://10.0.0.5:4001              raw TCP serial server

Every exchange writes one request and reads exactly the bytes the frame
header announces (no fixed sleeps), so a read costs the wire time plus a few
hundred microseconds.  A noisy line is handled by the parser (resync on the
preamble) and a bounded retry budget; silence ends an attempt after
``timeout_s`` plus the wire time of the expected answer.
"""

from __future__ import annotations

import logging
import os
import time

import serial

from devices.base import Device, DeviceCancelled, DeviceError, DeviceState, DeviceStatus, DeviceTimeout
from devices.urls import parse_url
from kiosk.core.domain import Identity
from kiosk.core.i18n import text
from kiosk.core.logs import remember_personal

from . import wlt
from .protocol import (
    ADDRESS_LEN,
    FINGERPRINT_LEN,
    PHOTO_LEN,
    SAM_ID_LEN,
    SW3_CARD_FOUND,
    SW3_NO_CONTENT,
    TEXT_LEN,
    BadFrame,
    Command,
    FrameParser,
    ProtocolError,
    Response,
    build_request,
    format_sam_id,
    parse_read_data,
    set_baud_request,
    wire_seconds,
)
from .textparse import UnsupportedLayout, parse_text

log = logging.getLogger(__name__)

SW3_NO_CARD = 0x80
DEFAULT_BAUD = 115200

# Bytes of each answer (frame header + SW + data + CHK), for time limits.
_ANSWER = {
    Command.FIND_CARD: 4 + 4,
    Command.SELECT_CARD: 4 + 8,
    Command.READ_TEXT_PHOTO: 4 + 4 + TEXT_LEN + PHOTO_LEN,
    Command.READ_WITH_FINGERPRINT: 4 + 6 + TEXT_LEN + PHOTO_LEN + FINGERPRINT_LEN,
    Command.READ_NEWEST_ADDRESS: 4 + ADDRESS_LEN,
    Command.SAM_ID: 4 + SAM_ID_LEN,
}
_REQUESTS = {c: build_request(c) for c in Command if c is not Command.SET_BAUD}


def serial_target(url: str) -> tuple[str, int]:
    """(pyserial port or URL, baud rate) for a device URL; ValueError if unusable."""
    d = parse_url(url)
    baud = d.param("baud", d.param("baudrate", DEFAULT_BAUD, int), int)
    if baud <= 0:
        raise ValueError(f"baud rate must be positive in {url!r}")
    if d.scheme == "serial":
        port = f"/{d.host}{d.path}" if d.host else d.path
        if not port:
            raise ValueError(f"no serial port in {url!r} (e.g. serial:///dev/ttyUSB0?baud=115200)")
        return port, baud
    if d.scheme in ("rfc2217", "socket"):
        if not d.host or not d.port:
            raise ValueError(f"{d.scheme}:// needs host:port in {url!r}")
        return f"{d.scheme}://{d.host}:{d.port}", baud
    raise ValueError(f"unsupported scheme {d.scheme!r} for an ID-card reader")


class IdCardReader(Device):
    family = "idcard"
    schemes = ("serial", "rfc2217", "socket")

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        self.attempt_timeout_s = float(self.options.get("timeout_s", 1.0))
        self.retries = max(1, int(self.options.get("retries", 3)))
        self.poll_interval_s = float(self.options.get("poll_interval_s", 0.1))
        # "mode" comes from the config (DeviceManager); missing means production
        self.demo = self.options.get("mode") == "demo"
        self.decoders = wlt.default_decoders(self.options.get("photo_decoders", ()), demo=self.demo)
        try:
            self.port, self.baudrate = serial_target(url)
            self._url_problem = ""
        except ValueError as exc:
            self.port, self.baudrate, self._url_problem = url, DEFAULT_BAUD, str(exc)
        self._ser: serial.SerialBase | None = None
        self._parser = FrameParser()
        self.bytes_out = 0   # counters of bytes on the wire (benchmark, diagnostics)
        self.bytes_in = 0

    # --- public API (any thread) -------------------------------------------
    def read_card(self, timeout: float | None = None) -> Identity:
        """Find, select and read the card on the reader.

        ``timeout``: seconds to wait for a card to be put down (None or 0: it
        must already be there).  Raises DeviceError with an ``idcard.*`` key."""
        wait = float(timeout or 0)
        return self.call(self._op, self._read_card, wait, False, timeout=self._budget(wait))

    def read_fingerprint_card(self, timeout: float | None = None) -> Identity:
        """Like read_card with the fingerprint block (``extra["fingerprint"]``, bytes)."""
        wait = float(timeout or 0)
        return self.call(self._op, self._read_card, wait, True, timeout=self._budget(wait))

    def wait_for_card(self, timeout: float) -> bool:
        """Poll for a card for up to ``timeout`` seconds; True once one is there."""
        return self.call(self._op, self._wait_for_card, float(timeout), timeout=self._budget(float(timeout)))

    def read_newest_address(self) -> str | None:
        """The newest address written to the card after issue, or None if there is none."""
        return self.call(self._op, self._read_newest_address, timeout=self._budget(0))

    def sam_id(self) -> str:
        """The reader's SAM (security module) id, e.g. ``05.01-20230615-0000012345-0000067890``."""
        return self.call(self._op, self._sam_id, timeout=self._budget(0))

    def reset_sam(self) -> None:
        self.call(self._op, self._simple, Command.RESET_SAM, timeout=self._budget(0))

    def set_baud(self, baud: int) -> None:
        """Switch the reader and this port to ``baud`` (9600 ... 115200)."""
        self.call(self._op, self._set_baud, int(baud), timeout=self._budget(0))

    def _budget(self, wait: float) -> float:
        # worst case: every attempt of three exchanges ends in a timeout
        per_attempt = 3 * (self.attempt_timeout_s + wire_seconds(2400, self.baudrate))
        return wait + self.retries * per_attempt + 2.0

    # --- lifecycle (device thread) ---------------------------------------------
    def _open(self) -> None:
        if self._url_problem:
            raise DeviceError("idcard.bad_url", DeviceState.NO_DEVICE, url=self.url, reason=self._url_problem)
        self._close()
        try:
            self._ser = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=self.attempt_timeout_s,
                                              write_timeout=self.attempt_timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            errno_ = getattr(exc, "errno", None)
            reason = os.strerror(errno_) if isinstance(errno_, int) else str(exc)
            raise DeviceError("idcard.port_unavailable", DeviceState.NO_DEVICE, port=self.port, reason=reason) from None

    def _close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _probe(self) -> DeviceStatus:
        try:
            self._ensure_open()
            sam = self._exchange(_REQUESTS[Command.SAM_STATUS], 4)
            if not sam.ok:
                err = sam.error()
                return DeviceStatus(DeviceState.HARDWARE_ERROR, {"media": "unknown", "sam": "fault"},
                                    text("idcard.status.sam_fault", reason=err.text.en), last_error=str(err))
            found = self._exchange(_REQUESTS[Command.FIND_CARD], _ANSWER[Command.FIND_CARD])
        except DeviceCancelled:
            raise
        except DeviceError as exc:
            return DeviceStatus(exc.state, {"media": "unknown", "sam": "unknown"}, exc.text, last_error=str(exc))
        present = found.sw3 == SW3_CARD_FOUND
        if not present and found.sw3 != SW3_NO_CARD:
            err = found.error()
            return DeviceStatus(err.state, {"media": "unknown", "sam": "ok"}, err.text, last_error=str(err))
        return DeviceStatus(DeviceState.ONLINE, {"media": "present" if present else "notPresent", "sam": "ok"},
                            text("idcard.status.present" if present else "idcard.status.not_present"))

    def _ensure_open(self) -> serial.SerialBase:
        if self._ser is None:
            self._open()
        return self._ser  # type: ignore[return-value]

    # --- one exchange --------------------------------------------------------
    def _exchange(self, request: bytes, answer_len: int) -> Response:
        """Send one request and return the first well-formed answer frame."""
        ser = self._ensure_open()
        parser = self._parser
        parser.reset()
        limit = self.attempt_timeout_s + wire_seconds(len(request) + answer_len, self.baudrate)
        deadline = time.monotonic() + limit
        try:
            ser.reset_input_buffer()  # drop what is left of an abandoned answer
            ser.write(request)
            self.bytes_out += len(request)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeviceTimeout("idcard.timeout", seconds=f"{limit:.1f}")
                if self.cancelled:
                    raise DeviceCancelled("device.cancelled")
                ser.timeout = remaining
                chunk = ser.read(parser.needed())
                self.bytes_in += len(chunk)
                for event in parser.feed(chunk):
                    if isinstance(event, BadFrame):
                        # a corrupted answer is complete: give up on it now;
                        # an impossible length is noise, keep reading
                        if event.reason == "checksum":
                            raise ProtocolError("idcard.checksum", DeviceState.HARDWARE_ERROR, retry=True, attempts=1)
                        continue
                    return Response.from_frame(event)
        except (serial.SerialException, OSError) as exc:
            self._close()  # reopened by the next command (USB re-plug)
            raise DeviceError("idcard.port_error", DeviceState.OFFLINE, reason=str(exc) or type(exc).__name__) from None

    def _command(self, command: Command) -> Response:
        return self._exchange(_REQUESTS[command], _ANSWER.get(command, 4))

    def _with_retries(self, op):
        """Run ``op`` until it succeeds, retrying line errors within the budget."""
        silent = 0
        last: DeviceError | None = None
        for attempt in range(1, self.retries + 1):
            try:
                return op()
            except DeviceTimeout as exc:
                last, silent = exc, silent + 1
                if silent >= 2:  # a reader that stays silent twice is not answering
                    break
            except ProtocolError as exc:
                if not exc.retry:
                    raise
                last = exc
            log.info("retrying reader command", extra={"device": self.name, "attempt": attempt, "reason": str(last)})
        assert last is not None
        if isinstance(last, ProtocolError) and last.key == "idcard.checksum":
            raise ProtocolError("idcard.checksum", DeviceState.HARDWARE_ERROR, attempts=self.retries)
        raise last

    def _simple(self, command: Command) -> Response:
        return self._with_retries(lambda: self._command(command).check())

    # --- operations (device thread) ----------------------------------------------
    def _find(self) -> bool:
        r = self._with_retries(lambda: self._command(Command.FIND_CARD))
        if r.sw3 == SW3_NO_CARD:
            return False
        r.check()
        return True

    def _wait_for_card(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._find():
                return True
            if time.monotonic() + self.poll_interval_s > deadline:
                return False
            self._sleep(self.poll_interval_s)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.cancelled:
                raise DeviceCancelled("device.cancelled")
            time.sleep(min(left, 0.05))

    def _select_and(self, command: Command, card_seen: bool) -> Response:
        """Find + select + ``command`` as one attempt; raises card_removed when
        the card vanished after it had been seen."""
        found = self._command(Command.FIND_CARD)
        if found.sw3 == SW3_NO_CARD:
            raise ProtocolError("idcard.card_removed" if card_seen else "idcard.no_card", DeviceState.ONLINE,
                                sw3=SW3_NO_CARD)
        found.check()
        self._command(Command.SELECT_CARD).check()
        return self._command(command)

    def _read_card(self, wait: float, fingerprint: bool) -> Identity:
        if wait > 0 and not self._wait_for_card(wait):
            raise ProtocolError("idcard.no_card", DeviceState.ONLINE, sw3=SW3_NO_CARD)
        command = Command.READ_WITH_FINGERPRINT if fingerprint else Command.READ_TEXT_PHOTO
        seen = [False]

        def attempt() -> Response:
            try:
                return self._select_and(command, seen[0]).check()
            except ProtocolError as exc:
                # a card that answered once and then fails is being moved
                if exc.sw3 not in (None, SW3_NO_CARD):
                    seen[0] = True
                raise

        r = self._with_retries(attempt)
        data = parse_read_data(r.data, with_fingerprint=fingerprint)
        return self._identity(data)

    def _identity(self, data) -> Identity:
        try:
            ident = parse_text(data.text)
        except UnsupportedLayout as exc:
            raise ProtocolError("idcard.unsupported_layout", DeviceState.USER_ERROR, marker=exc.marker) from None
        remember_personal(name=ident.name, address=ident.address, others=[ident.extra.get("english_name", "")],
                          numbers=[ident.id_number, ident.extra.get("pass_number", "")])
        ident.photo_wlt = data.photo
        if not self.demo and wlt.is_simulator_photo(data.photo):
            # a real card never carries the simulator's photo: something on this
            # port pretends to be a reader
            ident.problems.append("idcard.simulated_photo")
            log.warning("card with a simulator photo refused outside demo mode", extra={"device": self.name})
        photo = wlt.decode_photo(data.photo, self.decoders)
        if photo.ok:
            ident.photo, ident.photo_decoded = photo.image, True
            ident.extra["photo_format"] = photo.fmt
        else:
            ident.extra["photo_note"] = text("idcard.photo.undecoded", reason=photo.reason).en
        if data.fingerprint:
            ident.extra["fingerprint"] = data.fingerprint
        log.info("card read", extra={"device": self.name, "card_type": ident.card_type,
                                     "id_number": ident.id_number, "problems": ident.problems,
                                     "photo_decoded": ident.photo_decoded})
        return ident

    def _read_newest_address(self) -> str | None:
        r = self._with_retries(lambda: self._select_and(Command.READ_NEWEST_ADDRESS, False))
        if r.sw3 == SW3_NO_CONTENT:
            return None
        r.check()
        return r.data[:ADDRESS_LEN].decode("utf-16-le", "replace").strip(" \x00") or None

    def _sam_id(self) -> str:
        r = self._simple(Command.SAM_ID)
        return format_sam_id(r.data[:SAM_ID_LEN])

    def _set_baud(self, baud: int) -> None:
        request = set_baud_request(baud)
        self._with_retries(lambda: self._exchange(request, 4).check())
        ser = self._ensure_open()
        ser.baudrate = baud  # the reader answered at the old rate, then switched
        self.baudrate = baud

