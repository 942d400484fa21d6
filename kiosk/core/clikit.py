"""Helpers every command group shares: one-line failures, JSON or human output,
lazily imported subcommands and the per-invocation context.

They sit in the core so each package's command group can use them without
importing the application.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from .config import Config, ConfigError, load_config


class KioskContext:
    """Per-invocation state; the config is loaded on first use."""

    # The application (kiosk.cli) sets this: config -> the terminal's central
    # client, starting the embedded sandbox for embedded:// (command groups
    # below the application cannot import the platform themselves).
    central_client = None

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
