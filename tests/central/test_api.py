"""The central sandbox behind its contract: idempotent case reception backed
by the database, batches, evaluations, terminals, and the service back-ends
flows use (through the real client over loopback HTTP)."""

from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
import requests

from central.embedded import start_embedded
from kiosk.core.remote_config import load_public_key, verify_document
from offline_cache.client import (
    CentralAuthError,
    CentralClient,
    CentralRejected,
    CentralUnavailable,
)


def auth(handle, terminal: str = "T-TEST") -> dict:
    return {"Authorization": f"Bearer {handle.token_for(terminal)}"}


def case_body(**kw):
    body = {"case_id": str(uuid.uuid4()), "ref": "T-TEST-261123-000001", "terminal_id": "T-TEST", "seq": 1,
            "service": "no_property", "created_at": "2026-11-23T10:00:00+00:00",
            "applicant": {"name": "欧阳明", "id_number": "110101198503120316"}, "result": {"owns_property": False}}
    body.update(kw)
    return body


def post_case(handle, body, key):
    return requests.post(f"{handle.url}/v1/cases", json=body, headers={**auth(handle), "Idempotency-Key": key},
                         timeout=5)


def test_same_key_same_body_returns_the_original_response(central):
    body, key = case_body(), str(uuid.uuid4())
    first = post_case(central, body, key)
    again = post_case(central, body, key)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    stats = requests.get(f"{central.url}/v1/stats", headers=auth(central), timeout=5).json()
    assert stats["cases"] == 1 and stats["duplicates_rejected"] == 1


def test_same_key_other_body_is_refused(central):
    key = str(uuid.uuid4())
    body = case_body()
    assert post_case(central, body, key).status_code == 201
    other = post_case(central, dict(body, result={"owns_property": True}), key)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    reused_id = post_case(central, body, str(uuid.uuid4()))
    assert reused_id.status_code == 422 and reused_id.json()["error"] == "case_id_reused"


def wait_until(predicate, timeout=30.0):
    """Poll a condition up to a generous bound (not a speed check)."""
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)
    return predicate()


def test_a_key_still_in_progress_gets_409(central):
    faults = central.sandbox.faults
    faults.update({"hold_ms": 60_000})  # the first request keeps its key until the hold is switched off
    body, key = case_body(), str(uuid.uuid4())
    answers = []
    first = threading.Thread(target=lambda: answers.append(post_case(central, body, key)))
    first.start()
    try:
        assert wait_until(lambda: faults.held == 1)
        busy = post_case(central, body, key)
    finally:
        faults.update({"hold_ms": 0})
        first.join(30)
    assert busy.status_code == 409
    assert busy.json()["error"] == "in_progress" and busy.headers["Retry-After"] == "1"
    assert [r.status_code for r in answers] == [201]
    assert central.sandbox.stats()["cases"] == 1


def test_dedupe_survives_a_server_restart(tmp_path):
    body, key = case_body(), str(uuid.uuid4())
    first = start_embedded(tmp_path)
    try:
        original = post_case(first, body, key).json()
    finally:
        first.stop()
    second = start_embedded(tmp_path)
    try:
        again = post_case(second, body, key)
        assert again.json() == original and again.headers["Idempotent-Replayed"] == "true"
        assert requests.get(f"{second.url}/v1/stats", headers=auth(second), timeout=5).json()["cases"] == 1
    finally:
        second.stop()


def test_batch_items_follow_single_request_rules(central):
    a, b = case_body(), case_body(seq=2)
    ka, kb, kev = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    assert post_case(central, a, ka).status_code == 201
    items = [
        {"kind": "case", "idempotency_key": ka, "body": a},                      # replay
        {"kind": "case", "idempotency_key": kb, "body": b},                      # new
        {"kind": "evaluation", "idempotency_key": kev, "case_id": b["case_id"], "body": {"level": 5, "reasons": []}},
        {"kind": "case", "idempotency_key": str(uuid.uuid4()), "body": {"case_id": "x"}},  # invalid
        {"kind": "evaluation", "idempotency_key": str(uuid.uuid4()), "case_id": "unknown", "body": {"level": 3}},
    ]
    r = requests.post(f"{central.url}/v1/cases/batch", json={"items": items}, headers=auth(central), timeout=5)
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 201, 201, 400, 409]
    assert [x["replayed"] for x in res] == [True, False, False, False, False]
    got = requests.get(f"{central.url}/v1/cases/{b['case_id']}", headers=auth(central), timeout=5).json()
    assert got["evaluation"]["level"] == 5
    assert got["applicant"]["id_number"] == "1****************6"


def test_one_rating_per_case_at_central(central):
    body = case_body()
    post_case(central, body, str(uuid.uuid4()))
    url = f"{central.url}/v1/cases/{body['case_id']}/evaluation"
    first = requests.put(url, json={"level": 2, "reasons": ["slow"]}, headers={**auth(central),
                                                                               "Idempotency-Key": "e1"}, timeout=5)
    same = requests.put(url, json={"level": 2, "reasons": ["slow"]}, headers={**auth(central), "Idempotency-Key": "e2"},
                        timeout=5)
    other = requests.put(url, json={"level": 5}, headers={**auth(central), "Idempotency-Key": "e3"}, timeout=5)
    assert (first.status_code, same.status_code, other.status_code) == (201, 200, 422)


def test_missing_token_is_refused(central):
    r = requests.post(f"{central.url}/v1/cases", json=case_body(), headers={"Idempotency-Key": "k"}, timeout=5)
    assert r.status_code == 401
    c = CentralClient(url=central.url, token="wrong", terminal_id="T-TEST")
    with pytest.raises(CentralAuthError):
        c.property_query("110101198503120316")
    c.close()


def test_heartbeat_is_recorded_and_config_is_signed(central, client):
    ack = client.heartbeat({"software_version": "9.9", "devices": {"idcard": {"device": "online"}},
                            "services": {"no_property": {"available": True}}})
    assert ack["terminal_id"] == "T-TEST" and ack["config_version"] >= 1
    term = requests.get(f"{central.url}/v1/terminals/T-TEST", headers=auth(central), timeout=5).json()
    assert term["last_heartbeat"]["devices"]["idcard"]["device"] == "online"
    doc = client.terminal_config()
    key = load_public_key((central.db_path.parent / "config-signing.pub").read_bytes())
    assert verify_document(doc, [key], "T-TEST") == {}
    assert doc["queue_offline"]["start"] >= 5000
    requests.put(f"{central.url}/v1/sandbox/terminals/T-TEST/config", json={"ui": {"idle_timeout_s": 120}},
                 headers=auth(central), timeout=5)
    newer = client.terminal_config()
    assert newer["version"] > doc["version"] and newer["config"] == {"ui": {"idle_timeout_s": 120}}
    assert verify_document(newer, [key], "T-TEST")["ui"]["idle_timeout_s"] == 120


def test_offline_queue_ranges_differ_per_terminal(central, make_client):
    a = make_client().terminal_config()["queue_offline"]
    other = CentralClient(url=central.url, token=central.token_for("T-OTHER"), terminal_id="T-OTHER")
    b = other.terminal_config()["queue_offline"]
    other.close()
    assert a["end"] < b["start"] or b["end"] < a["start"]


def test_demo_back_ends_are_deterministic_and_realistic(client):
    resident = client.property_query("110101198503120316", "欧阳明")
    assert resident["owns_property"] is False and resident["properties"] == []
    owner = client.property_query("410105196211200573", "白振东")
    assert owner["owns_property"] is True and owner["properties"][0]["certificate_no"]
    assert client.property_query("410105196211200573") == owner
    records = client.social_security_records("110101198503120316", 12)
    assert len(records) == 12 and records[0]["month"] > records[-1]["month"]
    fund = client.provident_fund_account("110101198503120316")
    assert fund["eligible"] is True and fund["max_withdrawal_cents"] > 0
    sealed = client.provident_fund_account("310101197809150131")
    assert sealed["eligible"] is False and sealed["reasons"][0]["zh"]
    violations = client.traffic_violations("苏A12345")
    assert len(violations) == 3 and any(not v["payable"] for v in violations)
    with pytest.raises(CentralRejected):
        client.traffic_violations("ABC")


def test_withdrawal_rules_and_idempotency(client):
    fund = client.provident_fund_account("110101198503120316")
    with pytest.raises(CentralRejected) as exc:
        client.submit_withdrawal("110101198503120316", (fund["max_withdrawal_cents"] + 100) / 100,
                                 "6222020200112233445", "REF-1")
    assert exc.value.code == "amount_too_large"
    first = client.submit_withdrawal("110101198503120316", "1000.00", "6222020200112233445", "REF-1",
                                     idempotency_key="w-1")
    again = client.submit_withdrawal("110101198503120316", "1000.00", "6222020200112233445", "REF-1",
                                     idempotency_key="w-1")
    assert first == again and first["bank_card_masked"].endswith("3445") and first["amount_cents"] == 100000


def test_payment_settles_violations(client, central):
    payable = [v for v in client.traffic_violations("苏A12345") if v["payable"]]
    total = sum(v["fine_cents"] for v in payable) / 100
    order = client.create_payment("REF-2", total, "交通违法罚款", [v["violation_id"] for v in payable])
    assert order["status"] == "pending" and order["payment_id"] in order["qr_text"]
    assert client.payment_status(order["payment_id"])["status"] == "pending"
    page = requests.get(order["qr_text"], timeout=5)
    assert page.status_code == 200 and "沙箱支付" in page.text
    token = re.search(r"name=token value='([0-9a-f]+)'", page.text).group(1)
    requests.post(order["qr_text"], data={"token": token}, timeout=5)  # the resident's phone pays
    assert client.payment_status(order["payment_id"])["status"] == "paid"
    after = {v["violation_id"]: v["paid"] for v in client.traffic_violations("苏A12345")}
    assert all(after[v["violation_id"]] for v in payable)


def test_payment_auto_paid_after_a_delay(tmp_path):
    h = start_embedded(tmp_path, auto_pay_s=30)
    now = [time.time()]
    h.sandbox.clock = lambda: now[0]  # the sandbox's own clock, moved by the test
    c = CentralClient(url=h.url, token=h.token_for("T-TEST"), terminal_id="T-TEST")
    try:
        order = c.create_payment("REF-3", "50")
        now[0] += 29
        assert c.payment_status(order["payment_id"])["status"] == "pending"
        now[0] += 1
        assert c.payment_status(order["payment_id"])["status"] == "paid"
    finally:
        c.close()
        h.stop()


def test_queue_numbers_have_prefixes_and_advance(client):
    businesses = client.queue_businesses()
    prefixes = {b["prefix"] for b in businesses}
    assert {"A", "B", "C"} <= prefixes and all(b["waiting"] >= 0 for b in businesses)
    first, second = client.queue_ticket("B"), client.queue_ticket("social_security")
    assert first["number"].startswith("B") and second["sequence"] == first["sequence"] + 1
    assert second["waiting"] >= first["waiting"]


def test_unreachable_central_raises_unavailable(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = CentralClient(url=f"http://127.0.0.1:{port}", token="x", connect_timeout_s=0.5)
    with pytest.raises(CentralUnavailable) as exc:
        c.queue_ticket("A")
    assert "稍后再试" in exc.value.message.zh
    c.close()


def test_server_errors_are_unavailable_not_rejected(central, client):
    central.sandbox.faults.update({"fail_rate": 1.0, "statuses": [503]})
    with pytest.raises(CentralUnavailable) as exc:
        client.property_query("110101198503120316")
    assert exc.value.status == 503 and exc.value.retry_after == 1.0
