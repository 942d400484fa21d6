"""Driver registry: data, not globals.

A driver class declares ``family`` and ``schemes``; a registry instance maps
(family, scheme) to it.  ``build_registry(drivers, simulators)`` builds a fresh
registry from tables of module paths, importing each family lazily so a
missing optional library (pyscard, OpenCV) disables only that family, with the
reason kept.  ``default_registry()`` holds this package's families; the
application adds those of the packages built on this one, which this package
never names.

Simulators are registered per family: ``sim://`` in config means "start the
built-in simulator and point the real driver at its real transport".
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .base import Device

log = logging.getLogger(__name__)

# family -> "module:Class" of the driver(s); several classes may serve a family
DRIVER_TABLE: dict[str, list[str]] = {
    "idcard": ["devices.idcard.driver:IdCardReader"],
    "smartcard": ["devices.smartcard.driver:SmartCardReader"],
    "camera": ["devices.camera.driver:Camera"],
    "scanner": ["devices.scanner.driver:SerialScanner", "devices.scanner.wedge:WedgeScanner",
                "devices.scanner.camera_scan:CameraScanner"],
}

# family -> "module:function"; function(name, options, workdir) -> SimulatorHandle
SIMULATOR_TABLE: dict[str, str] = {
    "idcard": "devices.idcard.simulator:start_for_device",
    "smartcard": "devices.smartcard.simulator:start_for_device",
    "camera": "devices.camera.simulator:start_for_device",
    "scanner": "devices.scanner.simulator:start_for_device",
}


class SimulatorHandle(Protocol):
    url: str  # the real transport URL the driver should open

    def stop(self) -> None: ...


class RegistryError(Exception):
    pass


def _load(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class DriverRegistry:
    drivers: dict[tuple[str, str], type[Device]] = field(default_factory=dict)
    simulators: dict[str, Callable[..., SimulatorHandle]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # family -> why

    def register(self, driver: type[Device]) -> type[Device]:
        if not driver.family or not driver.schemes:
            raise RegistryError(f"{driver.__name__} must declare family and schemes")
        for scheme in driver.schemes:
            self.drivers[(driver.family, scheme)] = driver
        return driver

    def register_simulator(self, family: str, starter: Callable[..., SimulatorHandle]) -> None:
        self.simulators[family] = starter

    def driver_for(self, family: str, url: str) -> type[Device]:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        try:
            return self.drivers[(family, scheme)]
        except KeyError:
            if family in self.unavailable:
                raise RegistryError(f"{family} drivers unavailable: {self.unavailable[family]}") from None
            schemes = sorted(s for f, s in self.drivers if f == family)
            raise RegistryError(
                f"no {family} driver for scheme {scheme!r}" + (f" (supported: {', '.join(schemes)})" if schemes else "")
            ) from None

    def start_simulator(self, family: str, name: str, options: dict, workdir: Path) -> SimulatorHandle:
        if family not in self.simulators:
            why = f": {self.unavailable[family]}" if family in self.unavailable else ""
            raise RegistryError(f"no simulator for {family}{why}")
        return self.simulators[family](name, options, workdir)

    def families(self) -> list[str]:
        return sorted({f for f, _ in self.drivers})


def build_registry(drivers: dict[str, list[str]], simulators: dict[str, str],
                   families: list[str] | None = None) -> DriverRegistry:
    reg = DriverRegistry()
    for family, specs in drivers.items():
        if families is not None and family not in families:
            continue
        try:
            for spec in specs:
                reg.register(_load(spec))
            if family in simulators:
                reg.register_simulator(family, _load(simulators[family]))
        except Exception as exc:  # ImportError of an optional stack, or a module not built yet
            reg.unavailable[family] = f"{type(exc).__name__}: {exc}"
            log.warning("device family unavailable", extra={"family": family, "reason": str(exc)})
    return reg


def default_registry(families: list[str] | None = None) -> DriverRegistry:
    """This package's device families only."""
    return build_registry(DRIVER_TABLE, SIMULATOR_TABLE, families)
