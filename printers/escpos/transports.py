"""Byte transports chosen by URL.

``tcp://host:9100``        raw socket (JetDirect port); status is read back on it
``serial:///dev/ttyUSB0?baud=115200`` (and anything ``serial.serial_for_url`` takes)
``usb://04b8:0e15``        python-escpos's Usb backend over pyusb (optional)
``file:///dev/usb/lp0`` or ``file://out.bin``  append bytes; no status channel

A transport is opened for one job or one status query and closed after, so a
printer that accepts one TCP client at a time is free between jobs (a status
command run by a technician does not lock out the kiosk).
"""

from __future__ import annotations

import os
import select
import socket
import time

from devices.base import DeviceError, DeviceState
from devices.urls import parse_url


class Transport:
    has_status = True

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, n: int, timeout: float) -> bytes:
        """Up to ``n`` bytes, waiting at most ``timeout`` s for the first."""
        raise NotImplementedError

    def drain(self) -> None:
        """Discard stale input (automatic status bytes, late answers)."""
        while self.read(64, 0.0):
            pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _unreachable(url: str, why: str) -> DeviceError:
    return DeviceError("printing.escpos.unreachable", DeviceState.OFFLINE, url=url, reason=why)


class TcpTransport(Transport):
    def __init__(self, host: str, port: int, timeout: float, url: str):
        self.url = url
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise _unreachable(url, exc.strerror or type(exc).__name__) from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise _unreachable(self.url, exc.strerror or type(exc).__name__) from None

    def read(self, n: int, timeout: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return b""
        try:
            data = self.sock.recv(n)
        except OSError as exc:
            raise _unreachable(self.url, exc.strerror or type(exc).__name__) from None
        if not data:
            raise _unreachable(self.url, "connection closed by printer")
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class SerialTransport(Transport):
    def __init__(self, url: str, timeout: float):
        import serial

        u = parse_url(url)
        self.url = url
        target = u.path if u.scheme == "serial" else url  # rfc2217://, socket:// pass through
        try:
            self.port = serial.serial_for_url(
                target, baudrate=u.param("baud", 19200, int), timeout=timeout, write_timeout=max(timeout, 5.0),
                rtscts=u.param("rtscts", "0") in ("1", "true"), dsrdtr=u.param("dsrdtr", "0") in ("1", "true"))
        except (serial.SerialException, ValueError) as exc:
            raise _unreachable(url, str(exc)) from None

    def write(self, data: bytes) -> None:
        import serial

        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialException as exc:
            raise _unreachable(self.url, str(exc)) from None

    def read(self, n: int, timeout: float) -> bytes:
        self.port.timeout = timeout
        return self.port.read(n)

    def close(self) -> None:
        self.port.close()


class UsbTransport(Transport):
    """python-escpos's Usb backend finds the endpoints; reads use its in-endpoint."""

    def __init__(self, url: str, timeout: float):
        self.url = url
        # "usb://04b8:0e15": urlsplit would read 0e15 as a port, so split by hand
        try:
            vid, pid = (int(x, 16) for x in url.split("://", 1)[1].split("?")[0].strip("/").split(":"))
        except ValueError:
            raise DeviceError("device.unknown_scheme", DeviceState.NO_DEVICE, url=url) from None
        try:
            from escpos.printer import Usb

            self.dev = Usb(vid, pid, timeout=int(timeout * 1000))
            self.dev.open()
        except Exception as exc:  # pyusb missing, no device, no permission
            raise _unreachable(url, str(exc) or type(exc).__name__) from None

    def write(self, data: bytes) -> None:
        try:
            self.dev._raw(data)
        except Exception as exc:
            raise _unreachable(self.url, str(exc)) from None

    def read(self, n: int, timeout: float) -> bytes:
        try:
            return bytes(self.dev._read())[:n]
        except Exception:
            return b""

    def close(self) -> None:
        try:
            self.dev.close()
        except Exception:
            pass


class FileTransport(Transport):
    """Appends bytes to a file or device node; it cannot answer status."""

    has_status = False

    def __init__(self, url: str):
        u = parse_url(url)
        self.url = url
        path = (u.host + u.path) if u.host else u.path
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise _unreachable(url, exc.strerror or str(exc)) from None

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            raise _unreachable(self.url, exc.strerror or str(exc)) from None

    def read(self, n: int, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        os.close(self.fd)


def open_transport(url: str, timeout: float = 2.0) -> Transport:
    if url.startswith("usb://"):
        return UsbTransport(url, timeout)
    try:
        u = parse_url(url)
    except ValueError:
        raise DeviceError("device.unknown_scheme", DeviceState.NO_DEVICE, url=url) from None
    if u.scheme == "tcp":
        return TcpTransport(u.host or "127.0.0.1", u.port or 9100, timeout, url)
    if u.scheme in ("serial", "rfc2217", "socket"):
        return SerialTransport(url, timeout)
    if u.scheme == "file":
        return FileTransport(url)
    raise DeviceError("device.unknown_scheme", DeviceState.NO_DEVICE, url=url)


def read_exact(t: Transport, n: int, timeout: float) -> bytes:
    """Read ``n`` bytes within ``timeout`` s in total."""
    deadline = time.monotonic() + timeout
    out = b""
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        out += t.read(n - len(out), left)
    return out
