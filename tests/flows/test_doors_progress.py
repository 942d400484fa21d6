"""Case progress lookup: by ID card across terminals (central), by a
receipt's QR through the scanner simulator, and offline from this terminal's
store with the screen saying what cannot be known."""

from __future__ import annotations

import uuid

from flows.runner import load_script, shipped_script

RESIDENT_ID = "110101198503120316"


def _case_from_another_terminal(app, terminal="T-OTHER-9"):
    from offline_cache.client import CentralClient

    ref = f"{terminal}-261128-{uuid.uuid4().int % 10**6:06d}"
    body = {"case_id": str(uuid.uuid4()), "ref": ref, "terminal_id": terminal, "seq": 1,
            "service": "restricted_area_pass", "created_at": "2026-11-28T09:00:00+08:00",
            "applicant": {"name": "欧阳明", "id_number": RESIDENT_ID}, "result": {"status": "submitted"}}
    with CentralClient(url=app.embedded.url, token=app.embedded.token_for(terminal), terminal_id=terminal) as c:
        c.call("POST", "/v1/cases", json_body=body, idempotency_key=str(uuid.uuid4()))
    return ref


def test_by_id_card_lists_cases_of_other_terminals_with_a_timeline_and_prints_a_slip(runner, kiosk_app):
    other = _case_from_another_terminal(kiosk_app)
    report = runner.run(load_script(shipped_script("progress_lookup")))
    assert report.ok, report.error
    progress = kiosk_app.backend("progress", id_number=RESIDENT_ID)
    assert not progress["offline"]
    mine = next(c for c in progress["cases"] if c["ref"] == other)
    assert [e["code"] for e in mine["timeline"]] == ["submitted", "received", "in_review"] and mine["due"]
    assert any(a.endswith(".png") for a in report.artifacts)   # the slip, from the ESC/POS simulator
    assert RESIDENT_ID not in "\n".join(runner.session.journal.lines())


def test_a_receipts_qr_shows_that_one_case(runner, kiosk_app):
    ref = _case_from_another_terminal(kiosk_app, "T-OTHER-8")
    script = {"service": "progress_lookup", "steps": [
        {"expect": "how"}, {"tap": "by_receipt"}, {"expect": "receipt"},
        {"scan": kiosk_app.verify_url(ref)},
        {"expect": "detail"}, {"assert_in": {"result.rows": ref}},
        {"tap": "done"}, {"expect": "evaluation"}, {"tap": "skip"}, {"expect": "thanks"}, {"tap": "finish"}]}
    report = runner.run(script)
    assert report.ok, report.error


def test_a_code_that_is_no_receipt_is_refused_with_scan_again(runner):
    script = {"service": "progress_lookup", "steps": [
        {"expect": "how"}, {"tap": "by_receipt"}, {"expect": "receipt"}, {"scan": "6901234567892"},
        {"expect": {"step": "receipt", "view": "error"}},
        {"assert": {"message.key": "doors.progress.not_receipt"}}, {"cancel": True}], "end": "cancelled"}
    report = runner.run(script)
    assert report.ok, report.error


def test_offline_shows_this_terminals_cases_and_says_what_is_unknown(runner, kiosk_app):
    kiosk_app.commit_case(service="restricted_area_pass", result={"status": "submitted"},
                          applicant={"name": "欧阳明", "id_number": RESIDENT_ID})
    report = runner.run(load_script(shipped_script("errors/progress_offline")))
    assert report.ok, report.error
