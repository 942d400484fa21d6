"""The ``kiosk`` command: one entry point for residents' app, technicians and scripts.

Subcommand groups live next to the code they drive and are imported only when
used, so ``kiosk devices ...`` works on a machine without Qt or dlib.
Exit codes: 0 success, 1 the operation failed (one line says why), 2 usage or
configuration error.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .core.clikit import KioskContext, LazyGroup, emit, fail  # noqa: F401 (re-exported for commands)

# command name -> "module:attribute" of a click command or group
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("ui.app:run_command", "Open the touch kiosk (simulated devices + sandbox central by default)."),
    "devices": ("devices.cli:devices", "List, check and exercise the kiosk's devices."),
    "sim": ("kiosk.sim_cli:sim", "Run a device simulator on a real transport."),
    "print": ("printers.cli:print_group", "Print queue tickets, receipts and certificates."),
    "printers": ("printers.cli:printers_group", "Printer status (ticket and A4 printers)."),
    "certificate": ("printers.cli:certificate_group", "Verify signed certificates offline."),
    "face": ("devices.face.cli:face", "Face verification and liveness checks."),
    "cases": ("offline_cache.cli:cases", "Cases kept on this terminal and their sync."),
    "central": ("central.cli:central", "The central platform sandbox and its reports."),
    "session": ("kiosk.session_cli:session", "Run a service headless with a scripted resident."),
    "demo": ("kiosk.session_cli:demo", "Run every seed service once with the shipped scripts."),
    "services": ("kiosk.services_cli:services", "The service catalog: table, validate and preview a service file."),
    "diagnose": ("kiosk.diagnose:diagnose", "Technician checks without a screen."),
    "health": ("kiosk.health:health", "Terminal health for the operator (exit 1 when it cannot serve)."),
    "technician": ("kiosk.technician:technician", "Technician PIN management."),
    "staff": ("kiosk.staff:staff", "Staff credentials for staff-assisted verification."),
    "audit": ("kiosk.core.audit:audit_group", "The security audit trail: list and verify."),
    "config": ("kiosk.config_cli:config_group", "Check or show the effective configuration."),
}


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
              help="Site configuration TOML (default: built-in simulators + embedded sandbox).")
@click.option("--log-level", default=None, help="debug, info, warning or error.")
@click.version_option(__version__, prog_name="kiosk")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Self-service hall kiosk."""
    from .core.logs import setup_logging

    ctx.obj = KioskContext(config_path, log_level)
    ctx.obj.device_registry = _device_registry
    ctx.obj.central_client = _central_client
    # Logs go to stderr so --json output on stdout stays machine-readable.
    setup_logging(level=log_level or "warning", fmt="text")


def _device_registry():
    from .app import device_registry

    return device_registry()


def _central_client(config):
    from .app import central_client

    return central_client(config)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="kiosk", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
