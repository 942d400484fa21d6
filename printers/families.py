"""The printer families for a device registry (``devices.registry.build_registry``):
module paths of the drivers and simulator starters, imported only when used."""

from __future__ import annotations

from devices.registry import DriverRegistry, build_registry

DRIVER_TABLE: dict[str, list[str]] = {
    "escpos": ["printers.escpos.driver:EscPosPrinter"],
    "a4": ["printers.a4.driver:A4Printer"],
}

SIMULATOR_TABLE: dict[str, str] = {
    "escpos": "printers.escpos.simulator:start_for_device",
    "a4": "printers.a4.simulator:start_for_device",
}


def printer_registry(families: list[str] | None = None) -> DriverRegistry:
    return build_registry(DRIVER_TABLE, SIMULATOR_TABLE, families)
