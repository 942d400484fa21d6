"""Third parties check a receipt or certificate at central: GET /v1/verify/{ref} (status and
masked fields only, no credentials) and GET /v1/ca.pem (the deployment CA)."""

from __future__ import annotations

import uuid

import requests


def submit(central, ref: str, certificate: dict | None = None, name: str = "欧阳明") -> None:
    body = {"case_id": str(uuid.uuid4()), "ref": ref, "terminal_id": "T-TEST", "seq": 1,
            "service": "no_property_proof", "created_at": "2026-11-23T10:00:00+00:00",
            "applicant": {"name": name, "id_number": "110101198503120316"},
            "result": {"status": "issued", "certificate": certificate}}
    auth = {"Authorization": f"Bearer {central.token_for('T-TEST')}"}
    res = requests.post(f"{central.url}/v1/cases", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                        timeout=5)
    assert res.status_code == 201, res.text


def certificate(serial: str, until: str) -> dict:
    return {"type": "no_property", "serial": serial, "holder": "欧** 1****************6",
            "result": "未查询到该权利人名下的房屋等不动产登记信息", "issued": "2026-11-23T10:00:00",
            "valid_until": until}


def test_receipt_and_certificate_verify_without_credentials(central):
    submit(central, "T-TEST-261123-000001", certificate("BDC202611231000001234", "2999-12-23T23:59:59"))
    submit(central, "T-TEST-190301-000002", certificate("BDC201903010900005678", "2019-03-31T23:59:59"))
    receipt = requests.get(f"{central.url}/v1/verify/T-TEST-261123-000001", timeout=5)
    assert receipt.status_code == 200 and receipt.json()["status"] == "recorded"
    valid = requests.get(f"{central.url}/v1/verify/BDC202611231000001234", timeout=5).json()
    assert valid["status"] == "valid" and valid["kind"] == "certificate"
    assert valid["certificate"]["valid_until"] == "2999-12-23T23:59:59"
    assert "欧阳明" not in str(valid) and "110101198503120316" not in str(valid)  # masked fields only
    assert valid["holder"] == "欧** 1****************6"  # kiosk/core/masking.py
    expired = requests.get(f"{central.url}/v1/verify/BDC201903010900005678", timeout=5).json()
    assert expired["status"] == "expired"
    missing = requests.get(f"{central.url}/v1/verify/BDC000", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_verify_page_for_a_phone_escapes_what_it_shows(central):
    submit(central, "T-TEST-261123-000003", certificate("<script>alert(1)", "2999-01-01T00:00:00"),
           name="<b>x</b>")
    page = requests.get(f"{central.url}/v1/verify/%3Cscript%3Ealert(1)",
                        headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200 and "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "有效 / Valid" in page.text and "<b>" not in page.text
    nothing = requests.get(f"{central.url}/v1/verify/%3Cimg%3E", headers={"Accept": "text/html"}, timeout=5)
    assert nothing.status_code == 404 and "<img>" not in nothing.text


def test_deployment_ca_is_published(central):
    assert requests.get(f"{central.url}/v1/ca.pem", timeout=5).status_code == 404
    from kiosk.core import pki

    ca = pki.create_ca()
    pki.write_certs(central.sandbox.db.state_dir / "deployment-ca.pem", [ca.cert])
    res = requests.get(f"{central.url}/v1/ca.pem", timeout=5)
    assert res.status_code == 200 and pki.x509.load_pem_x509_certificates(res.content) == [ca.cert]
    # the rest of the contract still needs the terminal's credentials
    assert requests.get(f"{central.url}/v1/stats", timeout=5).status_code == 401
