"""Residents' services end to end on the touch screen: the real KioskApp
(simulated devices, embedded sandbox), the real flow engine, taps on QML
items.  Each screen is asserted and saved under docs/screenshots/."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.qt


@pytest.fixture
def kiosk(real_kiosk):
    return real_kiosk()


def start(kiosk, service: str) -> None:
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service(service)
    kiosk.tap(f"service_{service}")


def finish_with_evaluation(kiosk, name: str) -> None:
    kiosk.wait_view("evaluation", timeout=60)
    kiosk.item("rate_level_5")
    kiosk.shot(f"{name}_evaluation")
    kiosk.tap("rate_level_5")  # very satisfied
    kiosk.wait_view("message", timeout=20)
    kiosk.shot(f"{name}_thanks")
    kiosk.tap("action_finish")
    kiosk.wait_page("attract", timeout=20)


def test_attract_and_catalog_show_the_real_services(kiosk):
    """The screens a resident meets first, over the real catalog, in every mode."""
    for elderly, lang in ((False, "zh"), (False, "en"), (True, "zh"), (True, "en")):
        kiosk.wait_page("attract")
        if kiosk.ui.vm.elderly != elderly:
            kiosk.tap("btnElderly")
        if kiosk.ui.vm.lang != lang:
            kiosk.tap("btnLang")
        kiosk.shot("attract")
        kiosk.tap("touchToStart")
        kiosk.wait_page("catalog")
        kiosk.tap("tab_all")   # the whole menu, page by page, in catalog order
        catalog = kiosk.ui.vm.catalog
        offered = [s["id"] for s in kiosk.app.services()]
        assert [s["id"] for s in catalog.services] == offered[:len(catalog.services)]
        for service in catalog.services:
            kiosk.item(f"service_{service['id']}")
        assert len(catalog.services) == min(len(offered), 4 if elderly else 9)
        kiosk.shot("catalog")
        kiosk.tap("btnHome")


def test_queue_ticket_flow(kiosk):
    start(kiosk, "queue_ticket")
    state = kiosk.wait_view("choose")
    first = state["choices"][0]["id"]
    assert kiosk.text("stepTitle")
    kiosk.shot("queue_business")
    kiosk.tap(f"choice_{first}")
    kiosk.wait_view("take_paper", timeout=30)
    number = kiosk.text("ticketNumber")
    assert number and number[0].isalpha()
    kiosk.shot("queue_take_ticket")
    pages = kiosk.app.devices.simulators["ticket_printer"].pages()
    assert pages  # the ticket really came out of the (simulated) printer
    kiosk.tap("action_ok")
    finish_with_evaluation(kiosk, "queue")


def test_queue_ticket_elderly_english(kiosk):
    kiosk.tap("btnElderly")
    kiosk.tap("btnLang")
    start(kiosk, "queue_ticket")
    state = kiosk.wait_view("choose")
    assert kiosk.ui.theme.property("body") >= 40
    # fewer choices per screen in elderly mode
    shown = [c["id"] for c in state["choices"] if not kiosk.absent(f"choice_{c['id']}")]
    assert 0 < len(shown) <= 4
    kiosk.shot("queue_business")
    assert any("Queue" in t or "queue" in t for t in kiosk.voice.texts()) or kiosk.voice.texts()
    kiosk.tap(f"choice_{shown[0]}")
    kiosk.wait_view("take_paper", timeout=30)
    kiosk.shot("queue_take_ticket")
    kiosk.tap("action_ok")
    finish_with_evaluation(kiosk, "queue")


# elderly mode in Chinese here (the queue flow and the portrait tests cover it in English)
@pytest.mark.parametrize("elderly,lang", [(False, "zh"), (True, "zh")], ids=["standard-zh", "elderly-zh"])
def test_no_property_proof_flow(kiosk, elderly, lang):
    if elderly:
        kiosk.tap("btnElderly")
    if lang != kiosk.ui.vm.lang:
        kiosk.tap("btnLang")
    kiosk.app.devices.simulators["idcard"].remove()
    start(kiosk, "no_property_proof")
    kiosk.wait_view("insert_card")
    kiosk.item("idCardPicture")
    kiosk.shot("no_property_insert_card")
    kiosk.app.devices.simulators["idcard"].present("resident")
    kiosk.wait_view("consent", timeout=20)
    kiosk.shot("no_property_consent")
    kiosk.tap("choice_agree")
    kiosk.wait_view("face", timeout=20)
    kiosk.item("cameraView")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.feed.property("hasFrame"), timeout=10000)
    kiosk.shot("no_property_face")
    state = kiosk.wait_view("result", timeout=90)
    assert state["result"]["status"] == "ok"
    assert kiosk.text("resultHeadline")
    kiosk.shot("no_property_result")
    kiosk.tap("action_next")
    kiosk.wait_view("take_paper", timeout=60)
    kiosk.shot("no_property_take_paper")
    assert kiosk.app.devices.simulators["a4_printer"].jobs()
    kiosk.tap("action_ok")
    finish_with_evaluation(kiosk, "no_property")



def test_printer_out_of_paper_makes_queue_unavailable_with_reason(kiosk):
    kiosk.app.devices.simulators["ticket_printer"].set_paper("out")
    kiosk.app.devices.get("ticket_printer").refresh_status()
    kiosk.ui.vm.refresh_services()
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    items = kiosk.ui.vm.catalog
    kiosk.qtbot.waitUntil(lambda: not any(s["available"] for s in items.items if s["id"] == "queue_ticket"),
                          timeout=10000)
    kiosk.show_service("queue_ticket")
    kiosk.tap("service_queue_ticket")
    assert "纸" in kiosk.text("noticeText")  # says the paper ran out, not just "error"
    kiosk.shot("catalog_printer_out")
    assert kiosk.ui.backend.session is None  # never started, never stranded


def test_reader_fault_shows_out_of_service_then_recovers(kiosk):
    sim = kiosk.app.devices.simulators["idcard"]
    reader = kiosk.app.devices.get("idcard")
    sim.set_fault("sam_fault")
    try:
        reader.refresh_status()
        kiosk.ui.vm.refresh_services()
        kiosk.wait_page("outOfService")
        assert kiosk.text("oosTitle") == "本终端暂停服务"
        assert kiosk.text("oosReason")
        kiosk.shot("out_of_service")
        kiosk.tap("btnLang")
        kiosk.shot("out_of_service")
    finally:
        sim.set_fault(None)
        reader.refresh_status()
    kiosk.ui.vm.refresh_services()
    kiosk.wait_page("attract")


def test_diagnostics_screen_runs_device_tests(kiosk):
    kiosk.ui.tech.enter()
    kiosk.wait_page("techPin")
    kiosk.type_keys("80516243")  # tests/ui/conftest.py TECH_PIN
    kiosk.tap("keyDone")
    kiosk.wait_page("diagnostics")
    kiosk.item("device_idcard", timeout=20)
    kiosk.tap("test_read_id")
    kiosk.qtbot.waitUntil(lambda: "*" in (kiosk.ui.tech.results.get("read_id") or ""), timeout=15000)
    assert re.search(r"\d\*{16}[\dX]", kiosk.text("result_read_id"))  # masked, never in full
    kiosk.tap("test_print_ticket")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.tech.results.get("print_ticket", "").startswith("正常"), timeout=15000)
    kiosk.tap("test_network")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.tech.results.get("network", "").startswith("正常"), timeout=15000)
    kiosk.tap("test_camera")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.feed.property("fps") > 5, timeout=15000)
    kiosk.tap("test_face")
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.tech.results.get("face", "").startswith("正常"), timeout=30000)
    assert "人脸编码器 numpy" in kiosk.text("result_face") and "摄像头：" in kiosk.text("result_face")
    outbox = kiosk.text("outboxText")
    assert re.search(r"上次同步 (从未|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", outbox), outbox
    kiosk.tap("test_logs")
    kiosk.shot("diagnostics")
    assert "fps" in kiosk.text("cameraFps")
    kiosk.tap("btnLeaveTech")
    kiosk.wait_page("attract")
