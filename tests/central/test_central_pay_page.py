"""The sandbox payment page a phone opens from the QR code: a terminal's
description is shown as text, never run, and only the page's own Pay button
marks the payment paid."""

from __future__ import annotations

import re

import requests

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def order(client):
    return client.create_payment("REF-PAGE", 50, HOSTILE, [])


def test_description_is_escaped_and_scripts_are_forbidden(client, central):
    o = order(client)
    page = requests.get(o["qr_text"], timeout=5)
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_bare_or_forged_post_does_not_mark_paid(client, central):
    o = order(client)
    for data in (None, {"token": ""}, {"token": "0" * 64}, {"token": "x" * 5000}):
        r = requests.post(o["qr_text"], data=data, timeout=5)
        assert r.status_code == 403, data
    assert client.payment_status(o["payment_id"])["status"] == "pending"
    # the token of one payment does not pay another
    other = order(client)
    token = re.search(r"name=token value='([0-9a-f]+)'", requests.get(other["qr_text"], timeout=5).text).group(1)
    assert requests.post(o["qr_text"], data={"token": token}, timeout=5).status_code == 403
    assert client.payment_status(o["payment_id"])["status"] == "pending"


def test_pay_button_of_the_page_pays(client, central):
    o = order(client)
    page = requests.get(o["qr_text"], timeout=5).text
    token = re.search(r"name=token value='([0-9a-f]+)'", page).group(1)
    r = requests.post(o["qr_text"], data={"token": token}, timeout=5)
    assert r.status_code == 200 and "支付成功" in r.text
    assert client.payment_status(o["payment_id"])["status"] == "paid"


def test_unknown_payment_page_echoes_nothing(central):
    r = requests.get(f"{central.url}/pay/%3Cscript%3E", timeout=5)
    assert r.status_code == 404 and "<script>" not in r.text
