"""``kiosk config check|show``."""

from __future__ import annotations

import click

from .core.clikit import emit


@click.group("config")
def config_group() -> None:
    """Check or show the effective configuration."""


@config_group.command("check")
@click.pass_obj
def check(obj) -> None:
    """Validate the configuration; exit 2 with one line naming the bad key.

    In production mode every demo part (sandbox central, simulators, SMS
    sandbox, plain http, TLS verification off, a sandbox token) is reported,
    one line each, and the exit code is 2; demo mode itself is a warning."""
    from .core.production import report

    cfg = obj.config
    found = report(cfg)
    if cfg.demo:
        click.echo(f"ok: {cfg.source} (mode demo)")
        for line in found:
            click.echo(f"warning: {line}")
        return
    if found:
        for line in found:
            click.echo(f"error: invalid config: {line}; not allowed in production mode", err=True)
        raise SystemExit(2)
    click.echo(f"ok: {cfg.source} (mode production)")


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj, as_json: bool) -> None:
    """Print the merged configuration (secrets hidden)."""
    data = obj.config.section("central")
    full = dict(obj.config.data)
    if data.get("token"):
        full = {**full, "central": {**data, "token": "***"}}
    full.pop("technician", None)
    emit(full, True)
