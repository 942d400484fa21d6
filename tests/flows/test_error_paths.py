"""Error paths: each leaves a consistent case (none, or exactly one) and a wiped session."""

from __future__ import annotations

import subprocess

import pytest

from flows.runner import load_script, shipped_script

RESIDENT_ID = "110101198503120316"


def cases_of(app, service):
    return [c for c in app.store.list_cases(limit=1000) if c["service"] == service]


def script(name):
    return load_script(shipped_script(f"errors/{name}"))


def assert_wiped(runner):
    s = runner.session
    assert s.ended and s.data == {} and s.state()["view"] == "start"
    assert RESIDENT_ID not in "\n".join(s.journal.lines())


def notes(runner, what):
    return [r for r in runner.session.journal.records if r.get("kind") == "note" and r.get("what") == what]


def test_no_card_times_out_and_leaves_no_case(runner, kiosk_app):
    before = len(kiosk_app.store.list_cases(limit=1000))
    report = runner.run(script("no_card"))
    assert report.ok and report.outcome == "timeout"
    assert_wiped(runner)
    assert len(kiosk_app.store.list_cases(limit=1000)) == before


def test_idle_timeout_warns_then_wipes(runner, kiosk_app):
    before = len(kiosk_app.store.list_cases(limit=1000))
    report = runner.run(script("idle_timeout"))
    assert report.ok and report.outcome == "timeout"
    assert_wiped(runner)
    ticks = [r["what"] for r in runner.session.journal.records if r.get("kind") == "tick"]
    assert ticks[-2:] == ["warning", "timeout"]
    assert len(kiosk_app.store.list_cases(limit=1000)) == before


def test_face_mismatch_three_times_offers_the_alternative(runner, kiosk_app):
    before = len(cases_of(kiosk_app, "no_property_proof"))
    report = runner.run(script("face_mismatch"))
    assert report.ok, report.error
    assert_wiped(runner)
    assert len(notes(runner, "face_no_match")) == 3
    assert [t["step"] for t in report.steps].count("face") == 3
    case = cases_of(kiosk_app, "no_property_proof")
    assert len(case) == before + 1
    assert case[0]["extra"]["verified_by"] == "sms" and "face_distance" not in case[0]["extra"]


def test_ticket_printer_out_of_paper_keeps_the_number(runner, kiosk_app):
    sim = kiosk_app.devices.simulators["ticket_printer"]
    pages_before = len(sim.complete_page_texts())
    before = len(cases_of(kiosk_app, "queue_ticket"))
    report = runner.run(script("paper_out"))
    assert report.ok, report.error
    assert_wiped(runner)
    number = report.result["ticket"]
    assert notes(runner, "print_failed")
    cases = cases_of(kiosk_app, "queue_ticket")
    assert len(cases) == before + 1 and cases[0]["result"]["ticket"] == number
    printed = [p for p in sim.complete_page_texts()[pages_before:] if number in p]
    assert len(printed) == 1  # printed once, when the paper was back


def test_a4_fault_mid_flow_retry_keeps_one_case(runner, kiosk_app):
    before = len(cases_of(kiosk_app, "no_property_proof"))
    flow = {
        "service": "no_property_proof",
        "setup": {"idcard": "remove", "camera": "resident_blink"},
        "steps": [
            {"expect": "card"}, {"card": "resident"}, {"expect": "consent"}, {"tap": "agree"},
            {"expect": "result"},
            {"a4": {"fault": "media-empty"}},
            {"tap": "next"},
            {"expect": {"step": "print_proof", "view": "error"}},
            {"assert": {"actions.0.id": "retry"}},
            {"tap": "retry"},                                   # still no paper: the same clear screen
            {"expect": {"step": "print_proof", "view": "error"}},
            {"a4": {"fault": None}},
            {"tap": "retry"},
            {"expect": "take_paper"}, {"tap": "ok"},
            {"expect": "evaluation"}, {"tap": "level_4"},
            {"expect": "thanks"}, {"tap": "finish"},
        ],
    }
    report = runner.run(flow)
    assert report.ok, report.error
    assert_wiped(runner)
    assert len(notes(runner, "print_failed")) == 2
    assert len(notes(runner, "case_committed")) == 1
    cases = cases_of(kiosk_app, "no_property_proof")
    assert len(cases) == before + 1 and cases[0]["evaluation"]["level"] == 4
    assert len([a for a in report.artifacts if a.endswith(".pdf")]) == 1


def test_receipt_printer_cover_open_prints_the_receipt_on_a4(runner, kiosk_app):
    flow = load_script(shipped_script("restricted_area_pass"))
    steps = flow["steps"]
    i = steps.index({"expect": "confirm"})
    steps[i + 1:i + 2] = [{"printer": {"cover": "open"}}, {"tap": "next"},
                          {"expect": {"step": "print_receipt", "view": "error"}},
                          {"assert_in": {"actions": "other_printer"}},
                          {"tap": "other_printer"}]
    report = runner.run(flow)
    assert report.ok, report.error
    pdfs = [a for a in report.artifacts if a.endswith(".pdf")]
    assert len(pdfs) == 1
    assert notes(runner, "print_withdrawn")  # the kept ESC/POS job will not come out later
    sim = kiosk_app.devices.simulators["ticket_printer"]
    pages = len(sim.pages())
    sim.set_cover(False)
    kiosk_app.devices.get("ticket_printer").retry_pending()
    assert len(sim.pages()) == pages
    subprocess.run(["pdftoppm", "-png", "-r", "40", pdfs[0], str(runner.out / "slip")], check=True, timeout=30)
    assert (runner.out / "slip-1.png").stat().st_size > 1000


def test_receipt_printer_out_lets_the_resident_go_to_the_counter(runner, kiosk_app):
    before = len(cases_of(kiosk_app, "traffic_violations"))
    flow = load_script(shipped_script("traffic_violations"))
    steps = flow["steps"]
    i = steps.index({"pay": True})
    steps[i:] = [{"printer": {"paper": "out"}}, {"pay": True},
                 {"expect": {"step": "print_receipt", "view": "error"}},
                 {"tap": "counter"},
                 {"assert": {"view": "message", "can_back": False}},
                 {"assert_in": {"message.zh": "窗口"}},
                 {"tap": "finish"}]
    flow["end"] = "counter"
    report = runner.run(flow)
    assert report.ok, report.error
    assert_wiped(runner)
    cases = cases_of(kiosk_app, "traffic_violations")
    assert len(cases) == before + 1 and cases[0]["result"]["status"] == "paid"  # paid once, kept


def test_central_unreachable_means_unavailable_and_offline_tickets(runner, kiosk_app):
    report = runner.run(script("central_down"))
    assert report.ok and report.outcome == "unavailable"
    assert runner.session is None  # never started
    assert report.result["reasons"][0]["key"] == "flows.unavailable.central"
    # while central is down, queue tickets come from this terminal's reserved block
    flow = load_script(shipped_script("queue_ticket"))
    flow["setup"] = {"central_faults": {"fail_rate": 1.0, "statuses": [503]}}
    state = {s["id"]: s for s in kiosk_app.catalog_state()}
    report = runner.run(flow)
    assert report.ok, report.error
    number = report.result["ticket"]
    assert report.result["offline"] and number[0] == "D" and 5000 <= int(number[1:]) < 10000
    # the terminal cannot know how many wait: neither screen nor paper says "nobody ahead"
    assert report.result["waiting"] is None
    page = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert number in page and "前面无人等候" not in page and "请留意叫号" in page
    # faults are reset after the run: everything is offered again
    kiosk_app.forget_backend_status()
    state = {s["id"]: s for s in kiosk_app.catalog_state()}
    assert state["no_property_proof"]["available"]


def _declined(rest):
    return {"service": "no_property_proof", "setup": {"idcard": "remove"},
            "steps": [{"expect": "card"}, {"card": "resident"}, {"expect": "consent"}, {"tap": "decline"},
                      {"expect": "other_way"}, *rest]}


def test_wrong_sms_codes_lock_the_code_and_nothing_is_recorded(runner, kiosk_app):
    before = len(kiosk_app.store.list_cases(limit=1000))
    flow = _declined([{"tap": "sms"}, {"expect": "sms_phone"},
                      # only the number on record, masked; there is no field to type another
                      {"assert": {"prompt.en": "The code will be sent to the phone number on record: 138****1234"}},
                      {"assert": {"fields": []}},
                      {"tap": "send"}, {"expect": "sms_code"},
                      {"input": {"code": "12x"}}, {"submit": True},
                      {"assert": {"errors.code.key": "flows.code.format"}},
                      {"sms_code": "wrong"}, {"submit": True},
                      {"assert": {"errors.code.key": "flows.sms.wrong"}}, {"assert_in": {"errors.code.en": "2 tries"}},
                      {"sms_code": "wrong"}, {"submit": True},
                      {"sms_code": "wrong"}, {"submit": True},
                      {"assert": {"errors.code.key": "flows.sms.too_many"}},
                      {"sms_code": True}, {"submit": True},        # even the right code is refused now
                      {"assert": {"errors.code.key": "flows.sms.too_many", "step": "sms_code"}},
                      {"cancel": True}])
    flow["end"] = "cancelled"
    report = runner.run(flow)
    assert report.ok, report.error
    assert_wiped(runner)
    assert len(kiosk_app.store.list_cases(limit=1000)) == before
    assert "13812341234" not in "\n".join(runner.session.journal.lines())


STAFF_ID, STAFF_PIN = "S017", "59260417"  # enrolled by these tests; nothing ships a staff PIN


@pytest.fixture
def staff_member(kiosk_app):
    from kiosk.staff import save_credentials
    from kiosk.technician import hash_pin

    save_credentials(kiosk_app.config, {STAFF_ID: hash_pin(STAFF_PIN, iterations=1000)})
    yield STAFF_ID
    # a fresh count for the next test (deleting only the state would count as tampering)
    for name in ("lockout.json", "lockout.key"):
        (kiosk_app.config.data_dir / "staff" / name).unlink(missing_ok=True)


def test_staff_assisted_verification(runner, kiosk_app, staff_member):
    flow = _declined([{"tap": "staff"}, {"expect": "staff"},
                      {"input": {"staff_id": STAFF_ID, "staff_pin": "11112222"}}, {"submit": True},
                      {"assert": {"errors.staff_pin.key": "flows.staff.wrong_pin"}},
                      {"input": {"staff_id": "S999", "staff_pin": STAFF_PIN}}, {"submit": True},
                      {"assert": {"errors.staff_pin.key": "flows.staff.wrong_pin"}},
                      {"input": {"staff_id": STAFF_ID, "staff_pin": STAFF_PIN}}, {"submit": True},
                      {"expect": "result"}, {"tap": "next"}, {"expect": "take_paper"}, {"tap": "ok"},
                      {"expect": "evaluation"}, {"tap": "level_5"}, {"expect": "thanks"}, {"tap": "finish"}])
    calls = len(kiosk_app.staff_calls)
    report = runner.run(flow)
    assert report.ok, report.error
    assert len(kiosk_app.staff_calls) == calls + 1
    case = cases_of(kiosk_app, "no_property_proof")[0]
    assert case["extra"]["verified_by"] == f"staff:{STAFF_ID}"
    assert STAFF_PIN not in "\n".join(runner.session.journal.lines())


def test_wrong_staff_pins_reach_the_staff_lockout_and_the_right_pin_waits(runner, kiosk_app, staff_member):
    wrong = [{"input": {"staff_id": STAFF_ID, "staff_pin": "11112222"}}, {"submit": True}]
    flow = _declined([{"tap": "staff"}, {"expect": "staff"},
                      *wrong, {"assert": {"errors.staff_pin.key": "flows.staff.wrong_pin"}},
                      *wrong, {"assert": {"errors.staff_pin.key": "flows.staff.wrong_pin"}},
                      *wrong, {"assert": {"errors.staff_pin.key": "flows.staff.locked"}},
                      # the right staff PIN is refused while the wait runs
                      {"input": {"staff_id": STAFF_ID, "staff_pin": STAFF_PIN}}, {"submit": True},
                      {"assert": {"errors.staff_pin.key": "flows.staff.locked", "step": "staff"}},
                      {"cancel": True}])
    flow["end"] = "cancelled"
    before = len(kiosk_app.store.list_cases(limit=1000))
    report = runner.run(flow)
    assert report.ok, report.error
    assert len(kiosk_app.store.list_cases(limit=1000)) == before
    # the technician entry is not affected by the staff lockout
    from kiosk.technician import PinGate
    assert not PinGate(kiosk_app.config).gate.wait_s()


def test_sms_gateway_down_says_so_and_retry_sends_the_code(runner, kiosk_app):
    before = len(kiosk_app.store.list_cases(limit=1000))
    flow = _declined([{"sms_gateway": "down"},
                      {"tap": "sms"}, {"expect": "sms_phone"}, {"tap": "send"},
                      {"expect": {"step": "sms_phone", "view": "error"}},
                      {"assert": {"message.key": "flows.sms.send_failed", "actions.0.id": "retry"}},
                      {"assert": {"actions.1.id": "counter"}},
                      {"sms_gateway": "up"},
                      {"tap": "retry"},                 # back to the number on record
                      {"expect": {"step": "sms_phone", "view": "choose"}}, {"tap": "send"},
                      {"expect": "sms_code"}, {"sms_code": True}, {"submit": True},
                      {"expect": "result"},
                      {"cancel": True}])
    flow["end"] = "cancelled"
    try:
        report = runner.run(flow)
    finally:
        kiosk_app.sms.down = False
    assert report.ok, report.error
    assert_wiped(runner)
    assert len(kiosk_app.store.list_cases(limit=1000)) == before
