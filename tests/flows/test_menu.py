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


def test_at_least_26_services_and_ten_of_them_without_code_of_their_own():
    catalog = load_catalog()
    assert sum(len(flows) for flows in by_category(catalog).values()) >= 26
    folder = ROOT / "flows" / "catalog"
    # "@name" would be a Python function in functions.py; "@document" only hands over the rendered certificate
    no_code = [p.stem for p in folder.glob("*.yaml")
               if "@" not in p.read_text("utf-8").replace('"@document"', "")]
    assert len(no_code) >= 10, no_code
    assert {"driving_points", "marriage_appointment", "exit_entry_endorsement"} <= set(no_code)
