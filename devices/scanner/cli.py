"""``kiosk devices read-code``: one scan, as JSON or a line."""

from __future__ import annotations

import click

from kiosk.core.clikit import emit, fail


@click.command("read-code")
@click.option("--port", required=True, metavar="URL",
              help="Scanner URL: serial:///dev/ttyACM0?baud=9600&suffix=CR, evdev:///dev/input/by-id/..., "
                   "camera:///dev/video0, or sim:// for the built-in simulator.")
@click.option("--timeout", type=click.FloatRange(0, 600), default=10.0, show_default=True,
              help="Seconds to wait for a scan.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--text", "sim_text", default=None, help="With --port sim://: the code the simulator scans.")
@click.option("--symbology", default=None, help="With --port sim://: its symbology (qr, ean13, code128...).")
def read_code(port: str, timeout: float, as_json: bool, sim_text: str | None, symbology: str | None) -> None:
    """Wait for one scan and print its text and symbology."""
    from devices.base import DeviceState
    from devices.cli import one_operation
    from devices.registry import RegistryError, default_registry

    sim = None
    if port.startswith("sim://"):
        from devices.scanner.simulator import ScannerSimulator

        # a trigger-mode simulator holds the code until the driver asks for it
        sim = ScannerSimulator(trigger="honeywell").start()
        sim.scan(sim_text if sim_text is not None else "https://example.invalid/demo-code", symbology or "qr")
        port = sim.url
    try:
        cls = default_registry(["scanner"]).driver_for("scanner", port)
        scanner = cls("scanner", port, {})
    except (RegistryError, ValueError) as exc:
        if sim is not None:
            sim.stop()
        fail(f"invalid --port {port!r}: {exc}")
    scan = one_operation(scanner, lambda: scanner.read_code(timeout=timeout), sim,
                         (DeviceState.NO_DEVICE, DeviceState.HARDWARE_ERROR, DeviceState.OFFLINE))
    out = scan.as_dict()
    emit(out, as_json, out["text"] + (f"  ({out['symbology']})" if out["symbology"] else ""))
