"""``kiosk sim FAMILY``: run one device simulator in the foreground."""

from __future__ import annotations

import importlib

import click


SIM_COMMANDS = {
    "idcard": "devices.idcard.simulator:cli",
    "smartcard": "devices.smartcard.simulator:cli",
    "camera": "devices.camera.simulator:cli",
    "escpos": "printers.escpos.simulator:cli",
    "ipp": "printers.a4.simulator:cli",
}


class _SimGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SIM_COMMANDS)

    def get_command(self, ctx, name):
        if name not in SIM_COMMANDS:
            return None
        module, _, attr = SIM_COMMANDS[name].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            @click.command(name, help=f"(unavailable: {exc})")
            def unavailable() -> None:
                raise click.ClickException(f"simulator {name} unavailable: {exc}")
            return unavailable


@click.group(cls=_SimGroup)
def sim() -> None:
    """Run a device simulator (speaks the device's real bytes on a real transport)."""
