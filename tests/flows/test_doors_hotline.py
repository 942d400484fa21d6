"""Complaints and consultation (12345): own words on the screen keyboard, an
optional contact masked everywhere, one case that reaches central exactly
once, and a receipt reference that progress lookup follows."""

from __future__ import annotations

import json

from flows.runner import load_script, shipped_script

PHONE = "13812345678"


def test_a_complaint_in_own_words_becomes_one_case_followed_by_its_reference(runner, kiosk_app):
    report = runner.run(load_script(shipped_script("hotline_12345")))
    assert report.ok, report.error
    journal = "\n".join(runner.session.journal.lines())
    assert PHONE not in journal
    case = kiosk_app.store.find_by_ref(report.case_ref)
    assert case["service"] == "hotline_12345" and PHONE not in json.dumps(case, ensure_ascii=False)
    assert case["applicant"]["phone"] == "138****5678"
    for _ in range(3):   # however often sync runs, central holds the case once
        kiosk_app.sync.sync_once()
    db = kiosk_app.embedded.sandbox.db
    with db.read() as tx:
        assert tx.one("SELECT COUNT(*) FROM cases WHERE ref = ?", (report.case_ref,))[0] == 1
    progress = kiosk_app.backend("progress", ref=report.case_ref)
    case = progress["cases"][0]
    assert case["status"] == "in_progress" and case["due"]
    assert [e["code"] for e in case["timeline"]][-1] == "assigned"
    assert case["timeline"][-1]["department"] == "市城市管理局"


def test_choosing_own_words_needs_words_and_a_contact_is_optional(runner, kiosk_app):
    script = {"service": "hotline_12345", "steps": [
        {"expect": "kind"}, {"tap": "consultation"}, {"expect": "category"}, {"tap": "social"},
        {"expect": "topic"}, {"tap": "pension"}, {"expect": "details"}, {"submit": True},
        {"expect": "contact"}, {"submit": True}, {"expect": "confirm"},
        {"assert_in": {"result.rows": "匿名"}}, {"cancel": True}], "end": "cancelled"}
    report = runner.run(script)
    assert report.ok, report.error
