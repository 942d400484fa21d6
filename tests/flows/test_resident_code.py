"""The resident code (居民码) as an identity: the signed format, central's
single-use nonce across terminals, and the card screen taking a code scanned
through the serial scanner driver and its pty simulator (real bytes)."""

from __future__ import annotations

import concurrent.futures as cf

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.runner import load_script, shipped_script
from kiosk.core import resident_code as rc

RESIDENT_ID = "110101198503120316"
NOW = 1_800_000_000.0


def test_a_fresh_code_verifies_and_names_its_holder():
    key = Ed25519PrivateKey.generate()
    code = rc.issue(key, RESIDENT_ID, "欧阳明", NOW)
    claims = rc.verify(code, [key.public_key()], NOW + 30)
    assert (claims.id_number, claims.name, claims.expires_at - claims.issued_at) == (RESIDENT_ID, "欧阳明", 60)


@pytest.mark.parametrize("make, when, reason", [
    (lambda k: rc.issue(k, RESIDENT_ID, "欧阳明", NOW), NOW + 70, "resident_code.expired"),
    (lambda k: rc.issue(k, RESIDENT_ID, "欧阳明", NOW + 600), NOW, "resident_code.expired"),
    (lambda k: rc.issue(Ed25519PrivateKey.generate(), RESIDENT_ID, "欧阳明", NOW), NOW, "resident_code.forged"),
    (lambda k: rc.issue(k, RESIDENT_ID, "欧阳明", NOW)[:-3] + "AAA", NOW, "resident_code.forged"),
    (lambda k: "https://central.example/v1/verify/T-0001-261128-000001", NOW, "resident_code.malformed"),
    (lambda k: "HKRC1.e30.AAAA", NOW, "resident_code.malformed"),
    (lambda k: "HKRC1.!!.??", NOW, "resident_code.malformed"),
])
def test_expired_forged_and_foreign_codes_are_refused_each_with_its_reason(make, when, reason):
    key = Ed25519PrivateKey.generate()
    with pytest.raises(rc.ResidentCodeError) as err:
        rc.verify(make(key), [key.public_key()], when)
    assert err.value.key == reason
    assert err.value.text.zh and err.value.text.en  # one clear line for the resident, both languages


def test_a_code_living_longer_than_60_seconds_is_not_genuine():
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError):
        rc.issue(key, RESIDENT_ID, "欧阳明", NOW, lifetime_s=61)


def _issue(app) -> str:
    return app.central.call("POST", "/v1/sandbox/resident-codes",
                            json_body={"id_number": RESIDENT_ID, "name": "欧阳明"})["code"]


def _client(app, terminal):
    from offline_cache.client import CentralClient

    return CentralClient(url=app.embedded.url, token=app.embedded.token_for(terminal), terminal_id=terminal)


def test_a_code_redeemed_at_one_terminal_is_refused_at_another(kiosk_app):
    from offline_cache.client import CentralRejected

    code = _issue(kiosk_app)
    with _client(kiosk_app, "T-HALL-A") as a, _client(kiosk_app, "T-HALL-B") as b:
        assert a.call("POST", "/v1/identity/resident-code", json_body={"code": code})["status"] == "accepted"
        with pytest.raises(CentralRejected) as err:
            b.call("POST", "/v1/identity/resident-code", json_body={"code": code})
    assert err.value.code == "replayed"


def test_two_terminals_scanning_the_same_code_at_once_give_one_winner(kiosk_app):
    from offline_cache.client import CentralRejected

    code = _issue(kiosk_app)
    clients = [_client(kiosk_app, f"T-RACE-{i}") for i in range(6)]

    def redeem(c):
        try:
            return c.call("POST", "/v1/identity/resident-code", json_body={"code": code})["status"]
        except CentralRejected as exc:
            return exc.code
    try:
        with cf.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(redeem, clients))
    finally:
        for c in clients:
            c.close()
    assert sorted(answers) == ["accepted"] + ["replayed"] * 5


@pytest.mark.parametrize("name", ["resident_code_replayed", "resident_code_expired", "resident_code_forged"])
def test_refused_codes_say_why_and_leave_no_case(runner, kiosk_app, name):
    before = len(kiosk_app.store.list_cases(limit=1000))
    report = runner.run(load_script(shipped_script(f"errors/{name}")))
    assert report.ok, report.error
    assert len(kiosk_app.store.list_cases(limit=1000)) == before
    assert runner.session.data == {}


def test_the_proof_with_a_resident_code_skips_card_and_face(runner, kiosk_app):
    script = {"service": "no_property_proof", "setup": {"idcard": "remove"}, "steps": [
        {"expect": "card"}, {"assert": {"prompt.key": "resident_code.prompt_either"}},
        {"resident_code": "resident"}, {"expect": "result"}, {"assert": {"result.status": "ok"}},
        {"cancel": True}], "end": "cancelled"}
    report = runner.run(script)
    assert report.ok, report.error
    steps = [t["step"] for t in report.steps]
    assert steps[:3] == ["card", "query", "result"] and "face" not in steps and "consent" not in steps
    notes = [r for r in runner.session.journal.records if r.get("what") == "resident_code"]
    assert notes and notes[0]["online"] is True
    assert RESIDENT_ID not in "\n".join(runner.session.journal.lines())


def test_a_case_made_with_a_resident_code_records_how_the_holder_was_verified(kiosk_app):
    from flows.steps.basic import commit_case

    class FakeSession:  # the one place a flow commits: it records the way of verification
        data = {"applicant_verified": {"method": "resident_code", "by": "resident_code"}}
        services = kiosk_app

        class flow:
            id = "no_property_proof"
    rec = commit_case(FakeSession(), applicant={"name": "欧阳明", "id_number": RESIDENT_ID}, result={"status": "x"})
    assert kiosk_app.store.find_by_ref(rec["ref"])["extra"]["verified_by"] == "resident_code"


def test_offline_the_code_is_checked_against_the_pinned_key_and_not_taken_twice(kiosk_app):
    from kiosk.doors import ResidentCodeChecker

    code = _issue(kiosk_app)
    checker = ResidentCodeChecker(kiosk_app.config, lambda: None)   # central unreachable
    identity, online = checker.check(code)
    assert (identity.id_number, online) == (RESIDENT_ID, False)
    with pytest.raises(rc.ResidentCodeError) as err:
        checker.check(code)
    assert err.value.key == "resident_code.replayed"
