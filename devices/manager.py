"""Builds the configured devices, starting simulators for ``sim://`` URLs."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from kiosk.core.config import Config

from .base import Device, DeviceState, DeviceStatus
from .registry import DriverRegistry, SimulatorHandle, default_registry

log = logging.getLogger(__name__)


class UnavailableDevice(Device):
    """Stands in for a device whose driver could not be created, so status
    listings and service availability still show it, with the reason."""

    def __init__(self, name: str, url: str, family: str, reason: str):
        super().__init__(name, url)
        self.family = family  # type: ignore[misc]
        self.reason = reason
        self._status = DeviceStatus(DeviceState.NO_DEVICE, last_error=reason)

    def open(self) -> Device:
        return self

    def refresh_status(self, timeout: float | None = None) -> DeviceStatus:
        return self._status


class DeviceManager:
    def __init__(self, config: Config, registry: DriverRegistry | None = None, workdir: Path | None = None,
                 only: list[str] | None = None):
        self.config = config
        self.registry = registry or default_registry()
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kiosk-sim-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        self.only = only
        self.devices: dict[str, Device] = {}
        self.simulators: dict[str, SimulatorHandle] = {}

    def start(self, on_status: Callable[[Device, DeviceStatus], None] | None = None) -> DeviceManager:
        for name, spec in self.config.devices.items():
            if self.only is not None and name not in self.only:
                continue
            family, url = spec["family"], spec["url"]
            options = {k: v for k, v in spec.items() if k not in ("family", "url")}
            # the terminal's mode, not a per-device setting: demo-only shortcuts
            # (the simulator's photo decoder) follow it
            options["mode"] = self.config.get("mode", "production")
            try:
                if url.startswith("sim://"):
                    # The simulator may add driver options (e.g. a spool folder
                    # inside the work dir); the same dict goes to the driver.
                    handle = self.registry.start_simulator(family, name, options, self.workdir)
                    self.simulators[name] = handle
                    url = handle.url
                cls = self.registry.driver_for(family, url)
                dev = cls(name, url, options)
            except Exception as exc:
                log.warning("device not available", extra={"device": name, "reason": str(exc)})
                dev = UnavailableDevice(name, url, family, str(exc))
            if on_status:
                dev.on_status(on_status)
            dev.open()
            self.devices[name] = dev
        return self

    def get(self, name: str) -> Device | None:
        return self.devices.get(name)

    def by_family(self, family: str) -> list[Device]:
        return [d for d in self.devices.values() if d.family == family]

    def first(self, family: str) -> Device | None:
        found = self.by_family(family)
        return found[0] if found else None

    def statuses(self, refresh: bool = False) -> dict[str, DeviceStatus]:
        return {n: (d.refresh_status() if refresh else d.status()) for n, d in self.devices.items()}

    def describe(self, refresh: bool = False) -> list[dict]:
        return [{"name": name, "simulated": name in self.simulators, **dev.describe(refresh)}
                for name, dev in self.devices.items()]

    def stop(self) -> None:
        for dev in self.devices.values():
            try:
                dev.close()
            except Exception:
                log.exception("device close failed")
        for handle in self.simulators.values():
            try:
                handle.stop()
            except Exception:
                log.exception("simulator stop failed")
        self.devices.clear()
        self.simulators.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> DeviceManager:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
