"""What the operator configures and measures: the bank profile's service
selection, and per-step / per-flow duration metrics."""

from pathlib import Path

import pytest

from flows.engine import ServiceUnavailable
from flows.runner import load_script, shipped_script
from kiosk.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_bank_profile_offers_only_the_government_flows_the_branch_offers(kiosk_app):
    bank = load_config(REPO / "deploy/profiles/bank.toml", env={})
    original = kiosk_app.config
    kiosk_app.config = original.with_overrides({"services": bank.section("services")})
    try:
        offered = {s["id"] for s in kiosk_app.catalog_state(refresh=False)}
        with pytest.raises(ServiceUnavailable):
            kiosk_app.new_session("queue_ticket")
    finally:
        kiosk_app.config = original
    assert offered and offered <= set(bank.get("services.enabled"))
    assert "no_property_proof" in offered and "provident_fund_withdrawal" in offered
    assert not offered & {"queue_ticket", "traffic_violations", "restricted_area_pass"}


def test_step_and_flow_durations_reach_the_metrics(kiosk_app, runner):
    reg = kiosk_app.metrics.registry
    before = reg.get_sample_value("kiosk_flow_seconds_count", {"service": "queue_ticket"}) or 0
    report = runner.run(load_script(shipped_script("queue_ticket")))
    assert report.ok, report.error
    assert reg.get_sample_value("kiosk_flow_seconds_count", {"service": "queue_ticket"}) == before + 1
    assert reg.get_sample_value("kiosk_sessions_completed_total", {"service": "queue_ticket"}) >= 1
    steps = {s.labels["step"] for m in reg.collect() if m.name == "kiosk_step_seconds" for s in m.samples}
    assert steps, "no step durations recorded"
