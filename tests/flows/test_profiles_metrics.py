"""What the operator configures and measures: the bank profile's service
selection, and per-step / per-flow duration metrics."""

from pathlib import Path

import pytest

from flows.engine import ServiceUnavailable
from flows.runner import load_script, shipped_script
from kiosk.core.config import load_config

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


def test_remote_config_from_central_is_verified_and_applied_live(kiosk_app):
    """The operator hides a service centrally; the terminal pulls the signed
    document, applies it, and stops offering the service. A tampered
    document changes nothing."""
    from kiosk.ops import Operations

    original = kiosk_app.config
    tid = original.terminal_id
    ops = Operations(kiosk_app, serve_metrics=False)
    ops._start_remote_config(start=False)
    assert ops.poller is not None, "no trusted key for the embedded central platform"
    try:
        kiosk_app.central.call("PUT", f"/v1/sandbox/terminals/{tid}/config",
                               json_body={"services": {"hidden": ["traffic_violations"]}})
        result = ops.poller.poll_once()
        assert result.applied, result.reason
        offered = {s["id"] for s in kiosk_app.catalog_state(refresh=False)}
        assert "traffic_violations" not in offered and "queue_ticket" in offered

        forged = kiosk_app.central.terminal_config()
        forged["version"] += 10
        forged["config"] = {"services": {"hidden": ["queue_ticket"]}}
        ops.poller.fetch = lambda: forged
        assert not ops.poller.poll_once().applied
        assert "queue_ticket" in {s["id"] for s in kiosk_app.catalog_state(refresh=False)}
    finally:
        kiosk_app.central.call("PUT", f"/v1/sandbox/terminals/{tid}/config", json_body={})
        for name in ("config.json", "highest.json"):
            (original.data_dir / "remote" / name).unlink(missing_ok=True)
        kiosk_app.config = original


def test_without_a_signing_certificate_certificate_services_say_so_up_front(kiosk_app):
    """A terminal whose signing certificate is missing does not start a proof it
    cannot issue: the service is shown unavailable with a counter hint."""
    signer, kiosk_app.signer = kiosk_app.signer, None
    try:
        state = {s["id"]: s for s in kiosk_app.catalog_state(refresh=True)}
        with pytest.raises(ServiceUnavailable):
            kiosk_app.new_session("no_property_proof")
    finally:
        kiosk_app.signer = signer
    for sid in ("no_property_proof", "social_security_proof"):
        assert not state[sid]["available"]
        assert any("窗口" in r["zh"] for r in state[sid]["reasons"]), state[sid]["reasons"]
    assert state["queue_ticket"]["available"]
    assert {s["id"] for s in kiosk_app.catalog_state(refresh=True) if s["available"]} >= {"no_property_proof"}
