"""Every request to central is bound to one terminal: with terminal B's own
token, nothing can be done as terminal A (submit, read, rate, heartbeat,
config, queue, sandbox config). Each refusal is 403 and counted."""

from __future__ import annotations

import uuid

import requests

from central.auth import Caller, TerminalAuth


def hdr(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


def case_body(terminal: str) -> dict:
    return {"case_id": str(uuid.uuid4()), "ref": f"{terminal}-1", "terminal_id": terminal, "seq": 1,
            "service": "no_property_proof", "created_at": "2026-11-23T10:00:00+00:00",
            "applicant": {"name": "欧阳明", "id_number": "110101198503120316"}, "result": {}}


def test_tokens_are_per_terminal_and_per_install(tmp_path):
    one, two = TerminalAuth(tmp_path / "a"), TerminalAuth(tmp_path / "b")
    assert one.token_for("T-A") != one.token_for("T-B")
    assert one.token_for("T-A") != two.token_for("T-A")  # no fleet-wide or shipped token
    assert one.identify(hdr(one.token_for("T-A"))["Authorization"], None) == Caller("T-A", "token")
    forged = "sandbox-T-A." + one.token_for("T-B").rpartition(".")[2]  # B's MAC under A's name
    for bad in (forged, two.token_for("T-A"), "sandbox-terminal-token", ""):
        try:
            one.identify(f"Bearer {bad}", None)
        except Exception as exc:
            assert getattr(exc, "status", None) == 401
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_every_cross_terminal_request_is_refused(central):
    url = central.url
    a, b = central.token_for("T-A"), central.token_for("T-B")
    mine = case_body("T-A")
    assert requests.post(f"{url}/v1/cases", json=mine, headers=hdr(a, **{"Idempotency-Key": "a1"}),
                         timeout=5).status_code == 201

    def refused(resp):
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"] == "forbidden_terminal"

    # submit as A (single and batch), batch claiming A, a case of A inside B's own batch
    refused(requests.post(f"{url}/v1/cases", json=case_body("T-A"), headers=hdr(b, **{"Idempotency-Key": "b1"}),
                          timeout=5))
    item = {"kind": "case", "idempotency_key": "b2", "body": case_body("T-A")}
    refused(requests.post(f"{url}/v1/cases/batch", json={"items": [item]},
                          headers=hdr(b, **{"X-Terminal-Id": "T-A"}), timeout=5))
    r = requests.post(f"{url}/v1/cases/batch", json={"items": [item]}, headers=hdr(b, **{"X-Terminal-Id": "T-B"}),
                      timeout=5)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == 403
    # read and rate A's case
    refused(requests.get(f"{url}/v1/cases/{mine['case_id']}", headers=hdr(b), timeout=5))
    refused(requests.put(f"{url}/v1/cases/{mine['case_id']}/evaluation", json={"level": 1},
                         headers=hdr(b, **{"Idempotency-Key": "b3"}), timeout=5))
    ev = {"kind": "evaluation", "idempotency_key": "b4", "case_id": mine["case_id"], "body": {"level": 1}}
    r = requests.post(f"{url}/v1/cases/batch", json={"items": [ev]}, headers=hdr(b, **{"X-Terminal-Id": "T-B"}),
                      timeout=5)
    assert r.json()["results"][0]["status"] == 403
    # heartbeat, terminal record, signed config, queue ticket, sandbox config as A
    refused(requests.post(f"{url}/v1/terminals/T-A/heartbeat", json={"software_version": "1"}, headers=hdr(b),
                          timeout=5))
    refused(requests.get(f"{url}/v1/terminals/T-A", headers=hdr(b), timeout=5))
    refused(requests.get(f"{url}/v1/terminals/T-A/config", headers=hdr(b), timeout=5))
    refused(requests.post(f"{url}/v1/queue/tickets", json={"business": "A", "terminal_id": "T-A"}, headers=hdr(b),
                          timeout=5))
    for target in ("T-A", "*"):
        refused(requests.put(f"{url}/v1/sandbox/terminals/{target}/config", json={"ui": {"voice": False}},
                             headers=hdr(b), timeout=5))
    # nothing of A's changed; A itself still reads and rates its case
    got = requests.get(f"{url}/v1/cases/{mine['case_id']}", headers=hdr(a), timeout=5).json()
    assert got["evaluation"] is None
    assert requests.put(f"{url}/v1/cases/{mine['case_id']}/evaluation", json={"level": 5},
                        headers=hdr(a, **{"Idempotency-Key": "a2"}), timeout=5).status_code == 201
    assert central.sandbox.stats()["cross_terminal_refused"] == 12
    # central keeps its own audit of each refusal: who tried what, no personal data
    audit = central.sandbox.refusals()
    assert len(audit) == 12 and {r["caller"] for r in audit} == {"T-B"}
    assert any(r["action"] == "POST /v1/terminals/{id}/heartbeat" for r in audit)
    assert not any("110101198503120316" in str(r) for r in audit)


def test_operator_reads_any_case_but_acts_as_no_terminal(central):
    a, op = central.token_for("T-A"), central.operator_token
    mine = case_body("T-A")
    requests.post(f"{central.url}/v1/cases", json=mine, headers=hdr(a, **{"Idempotency-Key": "k"}), timeout=5)
    assert requests.get(f"{central.url}/v1/cases/{mine['case_id']}", headers=hdr(op), timeout=5).status_code == 200
    assert requests.post(f"{central.url}/v1/terminals/T-A/heartbeat", json={"software_version": "1"},
                         headers=hdr(op), timeout=5).status_code == 403
    assert requests.get(f"{central.url}/v1/stats", timeout=5).status_code == 401


def test_a_refused_cross_terminal_request_lands_in_the_terminal_audit_trail(central, tmp_path):
    import pytest

    from kiosk.core.audit import audit_for
    from kiosk.core.config import load_config
    from offline_cache.client import CentralAuthError, CentralClient

    cfg = load_config(env={"KIOSK_DATA_DIR": str(tmp_path / "data")})
    # this terminal's config names T-0001, but the credential it was given is T-B's
    with CentralClient(cfg, url=central.url, token=central.token_for("T-B")) as client:
        with pytest.raises(CentralAuthError):
            client.terminal_config()
    kinds = [r["kind"] for r in audit_for(cfg).records()]
    assert "cross_terminal_refused" in kinds
