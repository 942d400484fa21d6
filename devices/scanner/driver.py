"""Scanner drivers: the common read loop and the serial (USB-CDC / RS-232) driver.

Serial URLs (pyserial ``serial_for_url``)::

    serial:///dev/ttyACM0?baud=9600&suffix=CR&trigger=honeywell
    rfc2217://host:port  socket://host:port

Query parameters and device options (the URL wins): ``baud``, ``suffix``
(CR, LF, CRLF, TAB or a literal), ``prefix``, ``encoding`` (gb18030, ascii,
utf-8), ``trigger`` (continuous, honeywell, newland, zebra), ``aim`` (1: strip
AIM symbology identifiers into ``symbology``), ``repeat_window_s``,
``partial_timeout_s``.

``read_code`` discards whatever was scanned before it was called (a code left
from the previous resident is never used), waits for one new scan within its
timeout, and in trigger mode switches the scanner's light on for that time
only.  Bad scans (garbled, partial) raise DeviceError with state ``online``:
the resident scans again, the device is fine.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import serial

from devices.base import Device, DeviceCancelled, DeviceError, DeviceState, DeviceStatus, DeviceTimeout
from devices.urls import parse_url
from kiosk.core.i18n import text

from .protocol import (
    ENCODINGS,
    TRIGGER_ACKS,
    TRIGGER_MODES,
    TRIGGERS,
    LineFramer,
    RepeatFilter,
    Scan,
    decode_line,
    scan_error,
    suffix_bytes,
)

log = logging.getLogger(__name__)

SLICE_S = 0.05  # how often a waiting read looks at cancel and the partial-line clock


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class ScannerDevice(Device):
    """The part every scanner shares: options, the read loop, suppression, status."""

    family = "scanner"
    transport = ""

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        try:
            self.params = {**self.options, **parse_url(url).params}
            self.repeat_window_s = float(self.params.get("repeat_window_s", 1.5))
            self.partial_timeout_s = float(self.params.get("partial_timeout_s", 0.5))
            self.aim = _truthy(self.params.get("aim", 1))
            self._url_problem = self._configure()
        except ValueError as exc:
            self.params, self.aim, self.repeat_window_s, self.partial_timeout_s = {}, True, 1.5, 0.5
            self._url_problem = str(exc)
        self._repeats = RepeatFilter(self.repeat_window_s)
        self.scans = 0        # accepted scans (diagnostics)
        self.suppressed = 0   # identical scans dropped inside the window
        self._listening = threading.Event()  # set while a read waits for a scan

    # --- public API (any thread) --------------------------------------------
    def read_code(self, timeout: float = 10.0) -> Scan:
        """Wait up to ``timeout`` seconds for one new scan."""
        timeout = max(0.0, float(timeout))
        return self.call(self._op, self._read, timeout, timeout=timeout + 3.0)

    def wait_listening(self, timeout: float = 5.0) -> bool:
        """True once a read is waiting for a scan (earlier scans are discarded)."""
        return self._listening.wait(timeout)

    def cancel(self) -> None:
        # a read being cancelled no longer waits for a code: a code shown now is
        # for the next read, which drops what came before it
        self._listening.clear()
        super().cancel()

    # --- to implement ----------------------------------------------------------
    def _configure(self) -> str:
        """Check the URL/options; return a problem ("" when fine)."""
        return ""

    def _begin(self) -> None:
        """Start of a read: drop stale input, trigger the scanner."""

    def _end(self) -> None:
        """End of a read (always called): stop the trigger."""

    def _poll(self, wait: float) -> list[Scan]:
        """Wait at most ``wait`` s for input; the scans it completed."""
        raise NotImplementedError

    def _pending_since(self) -> float | None:
        """When an unfinished line last grew, or None."""
        return None

    def _drop_pending(self) -> None:
        pass

    # --- the read loop (device thread) ---------------------------------------------
    def _read(self, timeout: float) -> Scan:
        if self._url_problem:
            raise DeviceError("scanner.bad_url", DeviceState.NO_DEVICE, url=self.url, reason=self._url_problem)
        self._begin()
        self._listening.set()
        try:
            return self._wait_scan(timeout)
        finally:
            self._listening.clear()
            self._end()

    def _wait_scan(self, timeout: float) -> Scan:
        deadline = time.monotonic() + timeout
        while True:
            if self.cancelled:
                raise DeviceCancelled("device.cancelled")
            now = time.monotonic()
            since = self._pending_since()
            if since is not None and now - since > self.partial_timeout_s:
                self._drop_pending()
                raise scan_error("scanner.partial", seconds=f"{self.partial_timeout_s:g}")
            if now >= deadline:
                if since is not None:
                    self._drop_pending()
                    raise scan_error("scanner.partial", seconds=f"{self.partial_timeout_s:g}")
                raise DeviceTimeout("scanner.no_scan", DeviceState.ONLINE, seconds=f"{timeout:g}")
            for scan in self._poll(min(SLICE_S, deadline - now)):
                if self._repeats.accept(scan):
                    self.scans += 1
                    return scan
                self.suppressed += 1
                log.info("repeated scan suppressed", extra={"device": self.name})

    def _ready_status(self, **detail) -> DeviceStatus:
        return DeviceStatus(DeviceState.ONLINE, {"transport": self.transport, **detail}, text("scanner.status.ready"))


def serial_port(url: str) -> tuple[str, int]:
    """(pyserial port or URL, baud) of a serial scanner URL; ValueError if unusable."""
    d = parse_url(url)
    baud = d.param("baud", 9600, int)
    if baud <= 0:
        raise ValueError("baud rate must be positive")
    if d.scheme == "serial":
        port = f"/{d.host}{d.path}" if d.host else d.path
        if not port:
            raise ValueError("no serial port (e.g. serial:///dev/ttyACM0?baud=9600)")
        return port, baud
    if d.scheme in ("rfc2217", "socket") and d.host and d.port:
        return f"{d.scheme}://{d.host}:{d.port}", baud
    raise ValueError(f"unsupported URL {url!r} for a serial scanner")


class SerialScanner(ScannerDevice):
    schemes = ("serial", "rfc2217", "socket")
    transport = "serial"

    def _configure(self) -> str:
        self.port, self.baudrate = serial_port(self.url)
        self.encoding = str(self.params.get("encoding", "gb18030")).lower()
        if self.encoding not in ENCODINGS:
            return f"encoding must be one of {', '.join(ENCODINGS)}"
        self.trigger = str(self.params.get("trigger", "continuous")).lower()
        if self.trigger not in TRIGGER_MODES:
            return f"trigger must be one of {', '.join(TRIGGER_MODES)}"
        self.prefix = suffix_bytes(str(self.params.get("prefix", "")))
        self.suffix = suffix_bytes(str(self.params.get("suffix", "CR")))
        if not self.suffix:
            return "suffix must not be empty"
        self._framer = LineFramer(self.suffix, drop=TRIGGER_ACKS.get(self.trigger, b""))
        self._ser: serial.SerialBase | None = None
        return ""

    # --- lifecycle -----------------------------------------------------------------
    def _open(self) -> None:
        if self._url_problem:
            raise DeviceError("scanner.bad_url", DeviceState.NO_DEVICE, url=self.url, reason=self._url_problem)
        self._close()
        try:
            self._ser = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=SLICE_S, write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            errno_ = getattr(exc, "errno", None)
            reason = os.strerror(errno_) if isinstance(errno_, int) else str(exc)
            raise DeviceError("scanner.port_unavailable", DeviceState.NO_DEVICE, port=self.port,
                              reason=reason) from None

    def _close(self) -> None:
        ser, self._ser = getattr(self, "_ser", None), None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _gone(self) -> bool:
        return self.port.startswith("/") and not os.path.exists(self.port)

    def _probe(self) -> DeviceStatus:
        if self._url_problem:
            return DeviceStatus(DeviceState.NO_DEVICE, message=text("scanner.bad_url", url=self.url,
                                                                    reason=self._url_problem))
        if self._gone():  # USB unplugged: the node is gone
            self._close()
            err = DeviceError("scanner.port_unavailable", DeviceState.NO_DEVICE, port=self.port,
                              reason="no such device")
            return DeviceStatus(err.state, message=err.text, last_error=str(err))
        try:
            self._ensure_open()
        except DeviceError as exc:
            return DeviceStatus(exc.state, message=exc.text, last_error=str(exc))
        return self._ready_status(trigger=self.trigger)

    def _ensure_open(self) -> serial.SerialBase:
        if self._ser is None or self._gone():
            if self._gone():
                self._close()
            self._open()
        return self._ser  # type: ignore[return-value]

    def _line_error(self, exc: Exception) -> DeviceError:
        self._close()  # reopened by the next read (USB re-plug)
        return DeviceError("scanner.port_error", DeviceState.OFFLINE, reason=str(exc) or type(exc).__name__)

    # --- a read ------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        try:
            self._ensure_open().write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._line_error(exc) from None

    def _begin(self) -> None:
        ser = self._ensure_open()
        try:
            ser.reset_input_buffer()  # scans nobody asked for
        except (serial.SerialException, OSError) as exc:
            raise self._line_error(exc) from None
        self._framer.reset()
        if self.trigger in TRIGGERS:
            self._write(TRIGGERS[self.trigger][0])

    def _end(self) -> None:
        if self.trigger in TRIGGERS and self._ser is not None:
            try:
                self._ser.write(TRIGGERS[self.trigger][1])
            except (serial.SerialException, OSError):
                pass

    def _poll(self, wait: float) -> list[Scan]:
        ser = self._ensure_open()
        try:
            ser.timeout = max(0.001, wait)
            data = ser.read(max(1, ser.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise self._line_error(exc) from None
        now = time.monotonic()
        lines = self._framer.feed(data, now)
        return [decode_line(line, self.encoding, self.prefix, self.aim, now) for line in lines]

    def _pending_since(self) -> float | None:
        return self._framer.last_byte_at

    def _drop_pending(self) -> None:
        self._framer.reset()
