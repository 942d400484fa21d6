"""``kiosk sim FAMILY``: run one device simulator in the foreground."""

from __future__ import annotations

import click

from .core.clikit import LazyGroup

SIM_COMMANDS = {
    "idcard": ("devices.idcard.simulator:cli", "ID-card reader on a pty (GA 467 SAM_V bytes)."),
    "smartcard": ("devices.smartcard.simulator:cli", "Virtual social security / bank card in pcscd (vpcd)."),
    "camera": ("devices.camera.simulator:cli", "Camera scenes served as frames."),
    "escpos": ("printers.escpos.simulator:cli", "ESC/POS ticket printer on TCP."),
    "ipp": ("printers.a4.simulator:cli", "IPP A4 printer (ippeveprinter)."),
    "scanner": ("devices.scanner.simulator:cli", "QR/barcode scanner on a pty (serial scanner bytes)."),
}


@click.group(cls=LazyGroup, lazy=SIM_COMMANDS)
def sim() -> None:
    """Run a device simulator (speaks the device's real bytes on a real transport)."""
