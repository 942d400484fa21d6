"""One person's ID card and another person's face complete no service with any
shipped or documented secret: every face-protected service is driven with
欧阳明's card and no face at all (consent declined, which a mismatched face
also ends in), then every non-face way is tried with what ships or was ever
documented. The card holder's phone (the SMS way) is the one thing the person
at the screen does not have."""

from __future__ import annotations

import secrets

import pytest

from kiosk.staff import save_credentials
from kiosk.technician import hash_pin

GUESSED_PINS = ["24681357", "000000", "123456", "888888"]  # the PIN that used to ship, and common ones
GUESSED_IDS = ["S000", "admin", "S017"]
GUESSED_CODES = ["000000", "123456", "246813"]

SERVICES = {"no_property_proof": "", "provident_fund_withdrawal": "", "family_agency": "agent_"}


@pytest.fixture
def real_staff(kiosk_app):
    """A staff member whose PIN only they know (not anything the attacker tries)."""
    save_credentials(kiosk_app.config, {"S017": hash_pin(f"{secrets.randbelow(10 ** 8):08d}", iterations=1000)})
    yield
    for name in ("lockout.json", "lockout.key"):
        (kiosk_app.config.data_dir / "staff" / name).unlink(missing_ok=True)


def attack(service: str, p: str) -> dict:
    staff = []
    for sid in GUESSED_IDS:
        for pin in GUESSED_PINS:
            staff += [{"input": {"staff_id": sid, "staff_pin": pin}}, {"submit": True},
                      {"assert_in": {"errors.staff_pin.key": "flows.staff."}}, {"expect": f"{p}staff"}]
    codes = []
    for code in GUESSED_CODES:
        codes += [{"input": {"code": code}}, {"submit": True}, {"expect": f"{p}sms_code"}]
    flow = {"service": service, "setup": {"idcard": "remove", "camera": "biden_blink"},
            "steps": [{"expect": f"{p}card"}, {"card": "resident"}, {"expect": f"{p}consent"}, {"tap": "decline"},
                      {"expect": f"{p}other_way"},
                      {"tap": "staff"}, {"expect": f"{p}staff"}, *staff, {"back": True},
                      {"expect": f"{p}other_way"}, {"tap": "sms"}, {"expect": f"{p}sms_phone"},
                      {"assert": {"fields": [], "choices.0.id": "send", "choices.1": None}},  # no number to type
                      {"tap": "send"}, {"expect": f"{p}sms_code"}, *codes,
                      {"assert": {"errors.code.key": "flows.sms.too_many"}},
                      {"cancel": True}],
            "end": "cancelled"}
    return flow


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_borrowed_card_completes_no_service(runner, kiosk_app, real_staff, service):
    before = len(kiosk_app.store.list_cases(limit=1000))
    report = runner.run(attack(service, SERVICES[service]))
    assert report.ok, report.error
    assert report.outcome == "cancelled"
    assert len(kiosk_app.store.list_cases(limit=1000)) == before
    assert not any(r.get("cause") in ("staff_verified", "sms_verified") for r in runner.session.journal.records)


def test_no_phone_on_record_means_no_sms_way(runner, kiosk_app):
    flow = {"service": "no_property_proof", "setup": {"idcard": "remove"},
            "steps": [{"expect": "card"}, {"card": "resident_long_term"}, {"expect": "consent"}, {"tap": "decline"},
                      {"expect": "other_way"}, {"assert": {"choices.0.id": "staff", "choices.1": None}},
                      {"cancel": True}],
            "end": "cancelled"}
    report = runner.run(flow)
    assert report.ok, report.error
