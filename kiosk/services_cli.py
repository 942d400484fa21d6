"""``kiosk services``: the service catalog as data (table, validate, preview)."""

from __future__ import annotations

import click


@click.group("services")
def services() -> None:
    """The service catalog: list it, check a service file, preview its screens."""


@services.command("table")
def table() -> None:
    """Print the README's service table (markdown) from the catalog."""
    from flows.catalog import load_catalog
    from flows.catalog.menu import services_table

    click.echo(services_table(load_catalog()))
