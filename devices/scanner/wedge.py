"""USB HID keyboard-wedge scanners read through evdev.

URL: ``evdev:///dev/input/by-id/usb-<vendor>_<model>-event-kbd`` (the by-id
name survives re-plugging; a udev rule gives the kiosk user read access).
Parameters: ``alt_codes`` (gbk or unicode: how the scanner types Chinese with
Alt+numpad), ``suffix`` (CR = Enter, or TAB), ``aim``, ``repeat_window_s``,
``partial_timeout_s``.

The device is grabbed (EVIOCGRAB) for as long as the driver has it open, so
its keystrokes reach only this driver, never the UI or a console.  Key events
go through ``keymap.KeyDecoder``; tests replay recorded event streams through
the same decoder because no virtual input devices can be made here.
"""

from __future__ import annotations

import errno
import os
import select

from devices.base import DeviceError, DeviceState, DeviceStatus
from kiosk.core.i18n import text

from .driver import ScannerDevice, _truthy
from .keymap import KeyDecoder
from .protocol import Scan


class WedgeScanner(ScannerDevice):
    schemes = ("evdev",)
    transport = "evdev"

    def _configure(self) -> str:
        from devices.urls import parse_url

        d = parse_url(self.url)
        self.path = f"/{d.host}{d.path}" if d.host else d.path
        if not self.path:
            return "no input device (e.g. evdev:///dev/input/by-id/usb-Scanner-event-kbd)"
        self.grab = _truthy(self.params.get("grab", 1))
        alt_codes = str(self.params.get("alt_codes", "gbk")).lower()
        if alt_codes not in ("gbk", "unicode"):
            return "alt_codes must be gbk or unicode"
        self.decoder = KeyDecoder(alt_codes=alt_codes, suffix=str(self.params.get("suffix", "CR")), aim=self.aim)
        self._dev = None
        return ""

    def _open(self) -> None:
        if self._url_problem:
            raise DeviceError("scanner.bad_url", DeviceState.NO_DEVICE, url=self.url, reason=self._url_problem)
        self._close()
        try:
            import evdev
        except ImportError:
            raise DeviceError("scanner.evdev_missing", DeviceState.NO_DEVICE) from None
        try:
            dev = evdev.InputDevice(self.path)
        except OSError as exc:
            raise DeviceError("scanner.port_unavailable", DeviceState.NO_DEVICE, port=self.path,
                              reason=os.strerror(exc.errno) if exc.errno else str(exc)) from None
        if self.grab:
            try:
                dev.grab()
            except OSError as exc:
                dev.close()
                # EBUSY: another program (a desktop, a second kiosk) holds it
                raise DeviceError("scanner.grab_failed", DeviceState.HARDWARE_ERROR, port=self.path,
                                  reason=os.strerror(exc.errno) if exc.errno else str(exc)) from None
        self._dev = dev

    def _close(self) -> None:
        dev, self._dev = getattr(self, "_dev", None), None
        if dev is not None:
            try:
                if self.grab:
                    dev.ungrab()
            except OSError:
                pass
            try:
                dev.close()
            except OSError:
                pass

    def _probe(self) -> DeviceStatus:
        if self._url_problem:
            return DeviceStatus(DeviceState.NO_DEVICE, message=text("scanner.bad_url", url=self.url,
                                                                    reason=self._url_problem))
        try:
            if self._dev is None or not os.path.exists(self.path):
                self._open()
        except DeviceError as exc:
            return DeviceStatus(exc.state, message=exc.text, last_error=str(exc))
        return self._ready_status(grabbed=self.grab)

    def _lost(self, exc: OSError) -> DeviceError:
        self._close()
        if exc.errno == errno.ENODEV:
            return DeviceError("scanner.port_unavailable", DeviceState.NO_DEVICE, port=self.path, reason="unplugged")
        return DeviceError("scanner.port_error", DeviceState.OFFLINE, reason=str(exc))

    def _begin(self) -> None:
        if self._dev is None:
            self._open()
        try:
            while self._dev.read_one() is not None:  # type: ignore[union-attr]  # keys typed before the read
                pass
        except OSError as exc:
            raise self._lost(exc) from None
        self.decoder.reset()

    def _poll(self, wait: float) -> list[Scan]:
        dev = self._dev
        if dev is None:
            self._open()
            dev = self._dev
        try:
            ready, _, _ = select.select([dev.fd], [], [], wait)
            if not ready:
                return []
            events = list(dev.read())
        except BlockingIOError:
            return []
        except OSError as exc:
            raise self._lost(exc) from None
        out: list[Scan] = []
        for ev in events:
            out += self.decoder.feed(ev.type, ev.code, ev.value)
        return out

    def _pending_since(self) -> float | None:
        return self.decoder.last_key_at if self.decoder.pending else None

    def _drop_pending(self) -> None:
        self.decoder.reset()
