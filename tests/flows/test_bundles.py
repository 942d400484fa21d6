"""Theme bundles (我要退休, 新生儿出生): one identification, every service in turn,
one receipt, and a partial failure said on screen, printed and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.catalog import load_catalog
from flows.runner import load_script, shipped_script

ROOT = Path(__file__).resolve().parents[2]


def cases_of(app, service):
    return [c for c in app.store.list_cases(limit=1000) if c["service"] == service]


def test_bundles_are_catalog_data_on_a_theme_tab():
    catalog = load_catalog()
    for bid, members in (("retirement", ["pension_qualification", "social_security_proof",
                                         "provident_fund_withdrawal"]),
                         ("newborn", ["newborn_hukou", "newborn_medical", "newborn_ss_card"])):
        flow = catalog[bid]
        assert flow.category == "theme" and flow.options["bundle"] == members
        # the bundle can run only where every one of its services can
        needed = {need for m in members for need in catalog[m].devices}
        assert needed <= set(flow.devices)
    for name in ("newborn_hukou", "newborn_medical", "newborn_ss_card"):   # members without code of their own
        assert "@" not in (ROOT / "flows" / "catalog" / f"{name}.yaml").read_text("utf-8")


def test_retirement_identifies_once_and_lists_every_result(runner, kiosk_app):
    before = {s: len(cases_of(kiosk_app, s)) for s in ("retirement", "pension_qualification",
                                                       "social_security_proof", "provident_fund_withdrawal")}
    report = runner.run(load_script(shipped_script("retirement")))
    assert report.ok, report.error
    steps = [t["step"] for t in report.steps]
    assert steps.count("card") == 1 and steps.count("face") == 1 and steps.count("consent") == 1
    assert steps.count("evaluation") == 1 and steps.count("take_paper") == 1
    assert steps.count("print_receipt") == 1     # the members' receipts are the bundle's one
    assert {s: len(cases_of(kiosk_app, s)) - n for s, n in before.items()} == dict.fromkeys(before, 1)
    bundle = cases_of(kiosk_app, "retirement")[0]
    assert bundle["result"]["status"] == "completed" and bundle["evaluation"]["level"] == 5
    refs = [s["ref"] for s in bundle["result"]["services"]]
    assert all(s["done"] for s in bundle["result"]["services"])
    assert cases_of(kiosk_app, "provident_fund_withdrawal")[0]["result"]["purpose"] == "retirement"
    receipt = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert all(ref in receipt for ref in refs) and "我要退休" in receipt and "已办结" in receipt
    assert runner.session.data == {}   # wiped, members' data too


@pytest.mark.parametrize("script,not_done,reason", [
    ("retirement_partly_done", "pension_qualification", "hall.pension.none"),
    ("newborn_partly_done", "newborn_medical", "central.unavailable"),
])
def test_a_partial_failure_is_said_printed_and_recorded_once(runner, kiosk_app, script, not_done, reason):
    doc = load_script(ROOT / "flows" / "scripts" / "errors" / f"{script}.yaml")
    bundle_id = doc["service"]
    before = len(cases_of(kiosk_app, bundle_id))
    members_before = len(cases_of(kiosk_app, not_done))
    report = runner.run(doc)
    assert report.ok, report.error
    cases = cases_of(kiosk_app, bundle_id)
    assert len(cases) == before + 1 and len(cases_of(kiosk_app, not_done)) == members_before
    result = cases[0]["result"]
    assert result["status"] == "partial"
    failed = [s for s in result["services"] if not s["done"]]
    assert [(s["service"], s["reason"]) for s in failed] == [(not_done, reason)]
    receipt = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert "部分办结" in receipt and "未办成" in receipt
    # every case reaches central once, however often the outbox is sent
    kiosk_app.sync.sync_once()
    kiosk_app.sync.sync_once()
    for s in result["services"]:
        if s["ref"]:
            case = next(c for c in kiosk_app.store.list_cases(limit=1000) if c["ref"] == s["ref"])
            assert kiosk_app.central.get_case(case["case_id"])["ref"] == s["ref"]
    assert kiosk_app.central.get_case(cases[0]["case_id"])["ref"] == cases[0]["ref"]


def test_validate_refuses_a_bad_bundle(tmp_path):
    from kiosk.services_cli import check_file

    good = [check_file(ROOT / "flows" / "catalog" / f"theme_{n}.yaml") for n in ("retirement", "newborn")]
    assert good == [[], []]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"id": "bad", "category": "public", "colour": "red",
                                   "bundle": ["pension_qualification", "no_such_service"]}), "utf-8")
    assert check_file(bad) == ["unknown key 'colour'", "a bundle's category is theme",
                               "bundle names 'no_such_service', which is not a shipped service"]


def test_newborn_asks_the_babys_details_once(runner, kiosk_app):
    before = {s: len(cases_of(kiosk_app, s)) for s in ("newborn", "newborn_hukou", "newborn_medical",
                                                       "newborn_ss_card")}
    report = runner.run(load_script(shipped_script("newborn")))
    assert report.ok, report.error
    steps = [t["step"] for t in report.steps]
    assert steps.count("baby") == 1 and steps.count("card") == 1 and steps.count("face") == 1
    assert {s: len(cases_of(kiosk_app, s)) - n for s, n in before.items()} == dict.fromkeys(before, 1)
    assert cases_of(kiosk_app, "newborn")[0]["result"]["status"] == "completed"
