"""Residents' services end to end on the touch screen: the real KioskApp
(simulated devices, embedded sandbox), the real flow engine, taps on QML
items.  Each screen is asserted and saved under docs/screenshots/."""

from __future__ import annotations

import pytest

from kiosk.config import load_config
from ui.backend import EngineBackend

pytestmark = pytest.mark.qt


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    from kiosk.app import KioskApp

    data = tmp_path_factory.mktemp("kiosk-data")
    config = load_config(env={"KIOSK_DATA_DIR": str(data)},
                         overrides={"ui": {"idle_timeout_s": 120}})
    app = KioskApp(config, auto_pay_s=1.0).start()
    yield config, app
    app.stop()


@pytest.fixture
def kiosk(core, make_ui):
    config, app = core
    sims = app.devices.simulators
    sims["idcard"].present("resident")
    sims["camera"].show("obama_blink")
    sims["ticket_printer"].set_paper("ok")
    driver = make_ui(config, EngineBackend(app))
    driver.app = app
    return driver


def start(kiosk, service: str) -> None:
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
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
    kiosk.tap(f"action_ok")
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


def test_no_property_proof_flow(kiosk):
    start(kiosk, "no_property_proof")
    kiosk.wait_view("insert_card")
    kiosk.shot("no_property_insert_card")
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
