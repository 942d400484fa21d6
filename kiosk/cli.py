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
LAZY_COMMANDS: dict[str, str] = {
    "run": "ui.app:run_command",
    "devices": "devices.cli:devices",
    "sim": "kiosk.sim_cli:sim",
    "print": "printers.cli:print_group",
    "printers": "printers.cli:printers_group",
    "certificate": "printers.cli:certificate_group",
    "face": "devices.face.cli:face",
    "cases": "offline_cache.cli:cases",
    "central": "offline_cache.central.cli:central",
    "session": "flows.cli:session",
    "demo": "flows.cli:demo",
    "diagnose": "kiosk.diagnose:diagnose",
    "health": "kiosk.health:health",
    "technician": "kiosk.technician:technician",
    "config": "kiosk.config_cli:config_group",
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
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in LAZY_COMMANDS:
            return cmd
        module, _, attr = LAZY_COMMANDS[name].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"

            @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                           help=f"(unavailable: {reason})")
            def unavailable() -> None:
                fail(f"'kiosk {name}' is unavailable on this installation ({reason})")

            return unavailable


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
