"""The ``kiosk`` command: one entry point for residents' app, technicians and scripts.

Subcommand groups live next to the code they drive and are imported only when
used, so ``kiosk devices ...`` works on a machine without Qt or dlib.
Exit codes: 0 success, 1 the operation failed (one line says why), 2 usage or
configuration error.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from . import __version__
from .config import Config, ConfigError, load_config

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
    "central": ("offline_cache.central.cli:central", "The central platform sandbox and its reports."),
    "session": ("flows.cli:session", "Run a service headless with a scripted resident."),
    "demo": ("flows.cli:demo", "Run every seed service once with the shipped scripts."),
    "diagnose": ("kiosk.diagnose:diagnose", "Technician checks without a screen."),
    "health": ("kiosk.health:health", "Terminal health for the operator (exit 1 when it cannot serve)."),
    "technician": ("kiosk.technician:technician", "Technician PIN management."),
    "staff": ("kiosk.staff:staff", "Staff credentials for staff-assisted verification."),
    "audit": ("kiosk.audit:audit_group", "The security audit trail: list and verify."),
    "config": ("kiosk.config_cli:config_group", "Check or show the effective configuration."),
}


class KioskContext:
    """Per-invocation state; the config is loaded on first use."""

    def __init__(self, config_path: str | None, log_level: str | None):
        self.config_path = config_path
        self.log_level = log_level
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc), code=2)
        return self._config  # type: ignore[return-value]


def fail(message: str, code: int = 1) -> None:
    """Print one line on stderr and exit; never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif human is not None:
        click.echo(human)
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use.

    ``lazy`` maps a subcommand name to ``"module:attribute"`` or to
    ``("module:attribute", short help)``; with a help text, ``--help`` lists
    the command without importing it.  A subcommand whose import fails is
    replaced by one that says, in one line, why it is unavailable.
    """

    def __init__(self, *args: Any, lazy: dict | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    @staticmethod
    def _spec(entry) -> tuple[str, str | None]:
        return (entry, None) if isinstance(entry, str) else (entry[0], entry[1])

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in self.lazy:
            return cmd
        module, _, attr = self._spec(self.lazy[name])[0].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            path = " ".join(filter(None, [ctx.command_path, name]))

            @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                           help=f"(unavailable: {reason})")
            def unavailable() -> None:
                fail(f"'{path}' is unavailable on this installation ({reason})")

            return unavailable

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(60)))
                continue
            _, short = self._spec(self.lazy[name])
            if short is None:
                cmd = self.get_command(ctx, name)
                short = cmd.get_short_help_str(60) if cmd else ""
            rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
              help="Site configuration TOML (default: built-in simulators + embedded sandbox).")
@click.option("--log-level", default=None, help="debug, info, warning or error.")
@click.version_option(__version__, prog_name="kiosk")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Self-service hall kiosk."""
    from .logs import setup_logging

    ctx.obj = KioskContext(config_path, log_level)
    # Logs go to stderr so --json output on stdout stays machine-readable.
    setup_logging(level=log_level or "warning", fmt="text")


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="kiosk", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
