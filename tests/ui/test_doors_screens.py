"""The hall's other front doors on the touch screen (resident code, progress,
appointments, service guide, 12345), over the real core: each key screen is
saved in standard and elderly mode, Chinese and English
(docs/screenshots/doors_<screen>_<mode>_<lang>.png)."""

from __future__ import annotations

import pytest

from ui.voice import step_speech

pytestmark = pytest.mark.qt

RESIDENT_ID = "110101198503120316"


@pytest.fixture
def kiosk(real_kiosk):
    return real_kiosk()


def start(kiosk, service: str) -> None:
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service(service)
    kiosk.tap(f"service_{service}")


def four(kiosk, name: str) -> None:
    """The current screen in all four modes, back to standard Chinese."""
    kiosk.shot(name)
    kiosk.tap("btnLang")
    kiosk.shot(name)
    kiosk.tap("btnElderly")
    kiosk.shot(name)
    kiosk.tap("btnLang")
    kiosk.shot(name)
    kiosk.tap("btnElderly")


def scan(kiosk, text: str) -> None:
    dev = kiosk.app.devices.by_family("scanner")[0]
    assert dev.wait_listening(10)
    kiosk.app.devices.simulators["scanner"].scan(text, "qr")


def test_resident_code_on_the_card_screen_and_an_expired_code(kiosk):
    kiosk.app.devices.simulators["idcard"].remove()
    start(kiosk, "no_property_proof")
    state = kiosk.wait_view("insert_card")
    assert state["prompt"]["key"] == "resident_code.prompt_either"
    four(kiosk, "doors_resident_code_card")
    code = kiosk.app.central.call("POST", "/v1/sandbox/resident-codes",
                                  json_body={"id_number": RESIDENT_ID, "name": "欧阳明", "age_s": 120})["code"]
    scan(kiosk, code)
    state = kiosk.wait_view("error", timeout=20)
    assert state["message"]["key"] == "resident_code.expired"
    four(kiosk, "doors_resident_code_expired")


def test_progress_lookup_screens(kiosk):
    kiosk.app.commit_case(service="restricted_area_pass", result={"status": "submitted"},
                          applicant={"name": "欧阳明", "id_number": RESIDENT_ID})
    start(kiosk, "progress_lookup")
    kiosk.wait_view("choose")
    four(kiosk, "doors_progress_how")
    kiosk.tap("choice_by_id")   # the card lies on the reader: the holder's cases
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("step") == "cases", timeout=30000)
    kiosk.settle()
    four(kiosk, "doors_progress_cases")
    kiosk.tap(f"choice_{kiosk.ui.vm.session.raw['choices'][0]['id']}")
    kiosk.wait_view("result", timeout=20)
    four(kiosk, "doors_progress_detail")


def test_appointment_screens(kiosk):
    start(kiosk, "appointment")
    kiosk.wait_view("choose")
    four(kiosk, "doors_appointment_how")
    kiosk.tap("choice_book")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("step") == "business", timeout=30000)
    kiosk.settle()
    kiosk.tap("choice_exit_entry")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("step") == "slot", timeout=30000)
    kiosk.settle()
    four(kiosk, "doors_appointment_slot")
    first = next(c["id"] for c in kiosk.ui.vm.session.raw["choices"] if c["enabled"])
    kiosk.tap(f"choice_{first}")
    kiosk.wait_view("message", timeout=20)
    four(kiosk, "doors_appointment_rules")
    kiosk.tap("action_confirm_booking")
    kiosk.wait_view("result", timeout=30)
    four(kiosk, "doors_appointment_booked")


def test_service_guide_screens(kiosk):
    start(kiosk, "service_guide")
    kiosk.wait_view("choose")
    four(kiosk, "doors_guide_list")
    kiosk.tap("choice_no_property_proof")
    state = kiosk.wait_view("result", timeout=20)
    assert not state["message"]     # the guide shows once, as its table...
    said = " ".join(text for _, text in step_speech(state, "zh"))
    assert all(str(row["value"]["zh"]) in said for row in state["result"]["rows"])   # ...and is read aloud
    four(kiosk, "doors_guide_detail")


def test_hotline_screens(kiosk):
    start(kiosk, "hotline_12345")
    kiosk.wait_view("choose")
    four(kiosk, "doors_hotline_kind")
    kiosk.tap("choice_complaint")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("step") == "category", timeout=10000)
    kiosk.settle()
    kiosk.tap("choice_city")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("step") == "topic", timeout=10000)
    kiosk.settle()
    four(kiosk, "doors_hotline_topic")
    kiosk.tap("choice_noise")
    kiosk.wait_view("form", timeout=10)
    four(kiosk, "doors_hotline_details")
