"""The menu: categories declared once in the catalog, the README's table read from it."""

from __future__ import annotations

from pathlib import Path

from flows.catalog import load_catalog
from flows.catalog.menu import by_category, readme_table, services_table

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_declares_one_of_the_three_categories():
    groups = by_category(load_catalog())
    assert list(groups) == ["approval", "convenience", "public"]
    assert all(groups.values()), "every category has services"
    assert {f.id for f in groups["public"]} >= {"queue_ticket", "evaluation"}
    assert {f.id for f in groups["convenience"]} >= {"no_property_proof", "social_security_proof"}


def test_the_readme_service_table_is_the_catalogs():
    table = readme_table((ROOT / "README.md").read_text("utf-8"))
    assert table is not None, "README.md lost the services table markers"
    assert table == services_table(load_catalog()), "README table differs: paste `kiosk services table`"
