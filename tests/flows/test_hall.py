"""The data-driven services: sandbox data sets in the contract, receipts with the service's rows."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest
import yaml

from central import hall_data
from printers.escpos.layouts import LayoutError, receipt_fields, render

TODAY = dt.date(2026, 5, 1)


def test_every_data_set_is_in_the_contract_and_answers_the_same_every_time():
    contract = yaml.safe_load((resources.files("central") / "openapi.yaml").read_text("utf-8"))
    assert sorted(contract["components"]["schemas"]["HallDataset"]["enum"]) == sorted(hall_data.names())
    for name, spec in hall_data.datasets().items():
        request = {f: "110101198503120316" if f == "id_number" else "guangling" for f in spec.get("key", ["id_number"])}
        first = hall_data.query(name, request, TODAY)
        assert first == hall_data.query(name, request, TODAY)
        if spec.get("apply"):
            a = hall_data.apply(name, request, "key-1", TODAY)
            assert a == hall_data.apply(name, request, "key-1", TODAY) and a["status"] == "accepted"
            assert a["application_id"] != hall_data.apply(name, request, "key-2", TODAY)["application_id"]


def test_the_demo_cards_get_the_fixed_answers_the_scripts_rely_on():
    resident, biden = {"id_number": "110101198503120316"}, {"id_number": "410105196211200573"}
    assert hall_data.query("property_rights", resident, TODAY)["found"] is False   # no property: 无房证明 instead
    assert hall_data.query("property_rights", biden, TODAY)["found"] is True
    assert hall_data.query("pension", resident, TODAY)["found"] is False           # too young
    assert hall_data.query("driving_licence", biden, TODAY)["found"] is False


def test_a_service_receipt_prints_its_own_rows_in_its_own_layout():
    job = receipt_fields({"case_no": "T-1", "service": "驾驶证审验", "layout": "hall_receipt", "result": "accepted",
                          "lines": [{"label": "hall.label.outcome", "value": {"zh": "审验通过", "en": "Review passed"}},
                                    {"text": "2026-04", "value": "¥12.00"}]})
    data = render("receipt", job)
    for shown in ("审验通过", "办理结果", "2026-04", "¥12.00"):
        assert shown.encode("gb18030") in data
    assert "审验通过".encode("gb18030") not in render("receipt", {**job, "layout": None})
    with pytest.raises(LayoutError):
        render("receipt", {**job, "layout": "../receipt"})


NO_FACE = ["driving_licence_review", "income_tax_certificate", "medical_transfer_filing", "fund_deposit_certificate",
           "marriage_appointment", "business_licence_query"]


@pytest.mark.parametrize("service", NO_FACE)
def test_data_driven_services_run_their_scripts_with_the_typed_state(runner, service):
    from flows.runner import load_script, shipped_script

    report = runner.run(load_script(shipped_script(service)))
    assert report.ok, report.error
    if service != "business_licence_query":
        assert report.case_ref and report.artifacts   # a case and what the resident takes home


def test_no_record_is_said_plainly_and_leaves_no_case(runner, kiosk_app):
    from flows.runner import load_script

    script = load_script(Path(__file__).resolve().parents[2] / "flows/scripts/errors/driving_points_no_licence.yaml")
    report = runner.run(script)
    assert report.ok and report.case_ref is None
