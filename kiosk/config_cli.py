"""``kiosk config check|show``."""

from __future__ import annotations

import click

from .cli import emit


@click.group("config")
def config_group() -> None:
    """Check or show the effective configuration."""


@config_group.command("check")
@click.pass_obj
def check(obj) -> None:
    """Validate the configuration; exit 2 with one line naming the bad key."""
    cfg = obj.config
    click.echo(f"ok: {cfg.source}")


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
