"""The service catalog as data, its texts, and the field validators."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from flows import validators
from flows.catalog import load_catalog
from flows.engine import Step
from kiosk.core import i18n

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"


@pytest.mark.parametrize("plate,clean", [
    ("苏A12345", "苏A12345"), ("苏a 12345", "苏A12345"), ("粤B1234港", "粤B1234港"), ("京A1234挂", "京A1234挂"),
    ("苏AD12345", "苏AD12345"), ("沪AF1234 5", "沪AF12345"), ("苏A12345D", "苏A12345D"),
    ("苏A·D1234X"[:2] + "DX1234", "苏ADX1234"),
])
def test_valid_plates_including_new_energy(plate, clean):
    assert validators.plate(plate) == (clean, None)


@pytest.mark.parametrize("plate,key", [
    ("XA12345", "flows.plate.province"), ("苏AI2345", "flows.plate.no_i_o"), ("苏AO2345", "flows.plate.no_i_o"),
    ("苏A1234", "flows.plate.length"), ("苏A1234567", "flows.plate.length"), ("苏AX12345", "flows.plate.nev_format"),
    ("苏A12#45", "flows.plate.format"), ("", "flows.field.required"),
])
def test_invalid_plates_say_what_is_wrong(plate, key):
    value, err = validators.plate(plate)
    assert err is not None and err.key == key and err.zh and err.en


def test_other_validators():
    today = dt.date(2026, 5, 1)
    assert validators.phone("138 1234 5678") == ("13812345678", None)
    assert validators.phone("+8613812345678")[0] == "13812345678"
    assert validators.phone("12812345678")[1].key == "flows.phone.format"
    assert validators.date("2026/05/03", today) == (dt.date(2026, 5, 3), None)
    assert validators.date("20260503", today) == (dt.date(2026, 5, 3), None)
    assert validators.date("2026-02-30", today)[1].key == "flows.date.format"
    assert validators.amount("1,500.5") == (Decimal("1500.50"), None)
    assert validators.amount("0")[1].key == "flows.amount.positive"
    assert validators.amount("1.234")[1].key == "flows.amount.cents"
    assert validators.amount("abc")[1].key == "flows.amount.format"
    assert validators.id_number("11010119850312031x", today)[1].key == "idnumber.check_digit"
    assert validators.id_number("110101198503120316", today) == ("110101198503120316", None)


def test_catalog_has_the_seed_services_in_three_categories():
    catalog = load_catalog()
    seed = ["no_property_proof", "social_security_proof", "provident_fund_withdrawal", "queue_ticket",
            "traffic_violations", "restricted_area_pass", "family_agency", "evaluation"]
    assert [sid for sid in catalog if sid in seed] == seed
    services = [f for f in catalog.values() if not f.options.get("bundle")]
    assert {f.category for f in services} == {"approval", "convenience", "public"}
    assert {f.category for f in catalog.values() if f.options.get("bundle")} == {"theme"}   # 主题服务
    for flow in catalog.values():
        ids = list(flow.steps)
        if flow.id != "family_agency":  # ends by chaining into the chosen service
            assert ids[-2:] == ["evaluation", "thanks"], flow.id
        assert flow.steps["thanks" if "thanks" in ids else ids[-1]]
    assert catalog["no_property_proof"].budget_ms == 1500
    assert {f.id for f in catalog.values() if f.agency} >= {"no_property_proof", "social_security_proof",
                                                           "provident_fund_withdrawal", "restricted_area_pass"}
    assert not catalog["queue_ticket"].agency and not catalog["evaluation"].agency


def _texts_of(step: Step) -> list[str]:
    keys = [k for k in (step.title, step.prompt) if isinstance(k, str)]
    keys += [f.label or f"flows.field.{f.name}" for f in step.fields]
    keys += [c.label for c in (step.choices or []) if isinstance(c.label, str)]
    keys += [a.label for a in step.actions if isinstance(a.label, str)]
    return keys


def test_every_text_a_flow_shows_is_in_the_catalog_in_both_languages():
    missing = []
    for flow in load_catalog().values():
        for key in [flow.title, flow.description]:
            if not i18n.has(key):
                missing.append(key)
        for step in flow.steps.values():
            missing += [f"{flow.id}.{step.id}: {k}" for k in _texts_of(step) if not i18n.has(k)]
    # literal keys in the step code, the step functions and the catalog files
    literal = re.compile(r"[\"'](flows\.[a-z_]+(?:\.[a-z0-9_]+)+)[\"']")
    for path in list(FLOWS_DIR.rglob("*.py")) + list(FLOWS_DIR.rglob("*.yaml")):
        for key in literal.findall(path.read_text("utf-8")):
            if not key.endswith(".") and not i18n.has(key):
                missing.append(f"{path.name}: {key}")
    assert not missing
    for key, entry in i18n.catalog().items():
        if key.startswith("flows."):
            assert entry["zh"].strip() and entry["en"].strip(), key
