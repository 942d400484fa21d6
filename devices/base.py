"""Common device model: status shape, errors, and a per-device worker thread.

The status follows XFS4IoT's common status: one ``device`` state plus a family
detail (paper, media, cover...), a human message in zh and en, and a timestamp.
Each driver owns one worker thread; commands are queued to it and waited for
with a bounded timeout, so a hung transport never blocks the caller (UI, flow
engine) and a slow command can be cancelled cooperatively.
"""

from __future__ import annotations

import concurrent.futures as cf
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kiosk.core.i18n import Text, text

log = logging.getLogger(__name__)


class DeviceState(str, enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    HARDWARE_ERROR = "hardwareError"
    USER_ERROR = "userError"
    BUSY = "deviceBusy"
    NO_DEVICE = "noDevice"

    @property
    def usable(self) -> bool:
        # A busy device is working; it will take the next command.
        return self in (DeviceState.ONLINE, DeviceState.BUSY)


@dataclass(frozen=True)
class DeviceStatus:
    device: DeviceState
    detail: dict = field(default_factory=dict)  # family detail, e.g. {"paper": "low", "cover": "closed"}
    message: Text | None = None
    timestamp: float = field(default_factory=time.time)
    last_error: str | None = None

    @property
    def usable(self) -> bool:
        return self.device.usable

    @property
    def message_zh(self) -> str:
        return (self.message or text(f"device.state.{self.device.value}", reason="")).zh

    @property
    def message_en(self) -> str:
        return (self.message or text(f"device.state.{self.device.value}", reason="")).en

    def as_dict(self) -> dict:
        return {
            "device": self.device.value,
            "detail": dict(self.detail),
            "message": {"zh": self.message_zh, "en": self.message_en},
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.timestamp)),
            "last_error": self.last_error,
        }

    def same_as(self, other: DeviceStatus | None) -> bool:
        return (
            other is not None
            and other.device == self.device
            and other.detail == self.detail
            and (other.message.key if other.message else None) == (self.message.key if self.message else None)
        )


class DeviceError(Exception):
    """A device problem with a catalog message; ``str()`` is one English line."""

    state: DeviceState = DeviceState.HARDWARE_ERROR

    def __init__(self, key: str, state: DeviceState | None = None, **kwargs: Any):
        self.text = text(key, **kwargs)
        if state is not None:
            self.state = state
        super().__init__(self.text.en)

    @property
    def key(self) -> str:
        return self.text.key

    def message(self, lang: str = "en") -> str:
        return self.text.render(lang)


class DeviceTimeout(DeviceError):
    state = DeviceState.OFFLINE


class DeviceCancelled(DeviceError):
    state = DeviceState.ONLINE


class Device:
    """Base class for drivers.

    Subclasses set ``family`` and ``schemes`` (URL schemes they serve), implement
    ``_open``/``_close``/``_probe`` (probe returns a DeviceStatus), and run their
    commands through ``call`` so they execute on the device thread.
    """

    family: ClassVar[str] = ""
    schemes: ClassVar[tuple[str, ...]] = ()
    default_timeout_s: ClassVar[float] = 5.0

    def __init__(self, name: str, url: str, options: dict | None = None):
        self.name = name
        self.url = url
        self.options = dict(options or {})
        self._status = DeviceStatus(DeviceState.NO_DEVICE)
        self._listeners: list[Callable[[Device, DeviceStatus], None]] = []
        self._queue: queue.Queue[tuple[cf.Future, Callable, tuple, dict] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._current_cancel = threading.Event()  # the running command's token
        self._lock = threading.Lock()
        self._closed = False

    # --- lifecycle -----------------------------------------------------
    def open(self) -> Device:
        with self._lock:
            if self._thread is None:
                self._closed = False
                self._thread = threading.Thread(target=self._run, name=f"dev-{self.name}", daemon=True)
                self._thread.start()
        try:
            self.call(self._open, timeout=self.options.get("open_timeout_s", 10.0))
            self.refresh_status()
        except DeviceError as exc:
            self._set_status(DeviceStatus(exc.state, message=exc.text, last_error=str(exc)))
        return self

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._closed = True
        if thread is not None:
            self._current_cancel.set()
            done: cf.Future = cf.Future()
            self._queue.put((done, self._close, (), {}, threading.Event()))
            self._queue.put(None)
            thread.join(timeout=5)

    def __enter__(self) -> Device:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- commands ------------------------------------------------------
    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.cancel_event = threading.Event()  # type: ignore[attr-defined]
        if self._thread is None or self._closed:
            fut.set_exception(DeviceError("device.closed", DeviceState.OFFLINE, device=self.name))
            return fut
        self._queue.put((fut, fn, args, kwargs, fut.cancel_event))  # type: ignore[attr-defined]
        return fut

    def call(self, fn: Callable, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``fn`` on the device thread and wait at most ``timeout`` seconds."""
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        timeout = self.default_timeout_s if timeout is None else timeout
        fut = self.submit(fn, *args, **kwargs)
        try:
            return fut.result(timeout=timeout)
        except cf.TimeoutError:
            fut.cancel_event.set()  # type: ignore[attr-defined]  # the command checks this and stops early
            fut.cancel()
            raise DeviceTimeout("device.timeout", device=self.name, seconds=f"{timeout:g}") from None

    def cancel(self) -> None:
        """Ask the running command to stop; drivers poll ``cancelled``."""
        self._current_cancel.set()

    @property
    def cancelled(self) -> bool:
        """True when the command now running on the device thread was cancelled or timed out."""
        return self._current_cancel.is_set()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, fn, args, kwargs, cancel_event = item
            if not fut.set_running_or_notify_cancel():
                continue
            self._current_cancel = cancel_event
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # delivered to the caller
                fut.set_exception(exc)

    # --- status --------------------------------------------------------
    def status(self) -> DeviceStatus:
        return self._status

    def refresh_status(self, timeout: float | None = None) -> DeviceStatus:
        try:
            st = self.call(self._probe, timeout=timeout or self.default_timeout_s)
        except DeviceError as exc:
            st = DeviceStatus(exc.state, message=exc.text, last_error=str(exc))
        self._set_status(st)
        return st

    def on_status(self, callback: Callable[[Device, DeviceStatus], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _set_status(self, status: DeviceStatus) -> None:
        previous, self._status = self._status, status
        if status.same_as(previous):
            return
        log.info("device status", extra={"device": self.name, "state": status.device.value, "detail": status.detail})
        for cb in list(self._listeners):
            try:
                cb(self, status)
            except Exception:
                log.exception("status listener failed")

    def report_error(self, exc: DeviceError) -> None:
        self._set_status(DeviceStatus(exc.state, detail=dict(self._status.detail), message=exc.text,
                                      last_error=str(exc)))

    def _op(self, fn, *args):
        """Run an operation (on the device thread) and keep the common status
        honest: device faults found while working are reported at once, and a
        success after a fault brings the status back."""
        try:
            result = fn(*args)
        except DeviceError as exc:
            if exc.state in (DeviceState.HARDWARE_ERROR, DeviceState.OFFLINE, DeviceState.NO_DEVICE):
                self.report_error(exc)
            raise
        if not self.status().usable:
            self._set_status(self._probe())
        return result

    # --- to implement --------------------------------------------------
    def _open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def _probe(self) -> DeviceStatus:
        return DeviceStatus(DeviceState.ONLINE)

    def describe(self, refresh: bool = False) -> dict:
        """The one device entry every status reader uses (kiosk/status.py): family,
        URL, the common status and whether it is usable; families add live figures."""
        st = self.refresh_status() if refresh else self.status()
        return {"family": self.family, "url": self.url, **st.as_dict(), "usable": st.usable}
