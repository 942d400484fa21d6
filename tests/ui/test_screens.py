"""The frame around the flows: attract, catalog, elderly mode, language,
call staff, idle countdown, keyboards and the technician entry - driven by
taps on the QML window over the real flow engine."""

from __future__ import annotations

import pytest

from kiosk.core.config import load_config
from kiosk.technician import hash_pin
from ui.backend import EngineBackend

TECH_PIN = "80516243"  # set by these tests; nothing ships a PIN

pytestmark = pytest.mark.qt


class ToyApp:
    """Stands in for KioskApp where these tests need no devices: a fixed
    catalog and real engine sessions of one small flow."""

    devices = None

    def __init__(self):
        self.staff_calls = []

    def services(self):
        return [
            {"id": "toy_plate", "category": "convenience", "available": True,
             "title": {"zh": "车牌登记", "en": "Plate registration"},
             "description": {"zh": "输入车牌号", "en": "Type a plate number"}},
            {"id": "queue_ticket", "category": "public", "available": True,
             "title": {"zh": "排队取号", "en": "Queue ticket"}},
            {"id": "no_property", "category": "approval", "available": False,
             "title": {"zh": "无房证明", "en": "Proof of no property"},
             "reasons": [{"zh": "A4打印机缺纸", "en": "A4 printer out of paper"}]},
        ]

    def new_session(self, service_id, lang="zh"):
        from flows.engine import END, Choice, Field, Flow, Session, Step

        steps = {
            "plate": Step("plate", view="form", title="flows.traffic.plate_title", prompt="flows.traffic.plate_prompt",
                          fields=[Field("plate", kind="plate", placeholder="flows.traffic.plate_example")]),
            "pick": Step("pick", view="choose", title="flows.traffic.list_title",
                         choices=[Choice("a", "ui.catalog.approval"), Choice("b", "ui.catalog.public")]),
            "done": Step("done", view="message", title="ui.common.done",
                         actions=[Choice("ok", "ui.common.confirm")], next=END),
        }
        flow = Flow("toy_plate", "convenience", "flows.svc.traffic_violations.title", steps, "plate")
        return Session(flow, None, lang=lang, idle_timeout_s=30, idle_warning_s=10)

    def call_staff(self, reason="", service=None):
        self.staff_calls.append((reason, service))
        return True


@pytest.fixture
def kiosk(data_dir, make_ui):
    app = ToyApp()
    backend = EngineBackend(app)
    backend.out_of_service_reason = lambda: None
    driver = make_ui(load_config(overrides={"technician": {"pin_hash": hash_pin(TECH_PIN, iterations=1000)}}), backend)
    driver.app = app
    return driver


def test_attract_shows_hall_clock_and_services_available_now(kiosk):
    assert kiosk.text("attractHall") == "市民中心24小时自助服务厅"
    assert kiosk.text("brandName") == "市民中心"     # branding.name in the header
    kiosk.item("brandEmblem")                         # no branding.logo: the built-in emblem
    assert kiosk.text("attractHours").endswith("09:00-12:00, 13:30-17:00")
    assert ":" in kiosk.text("attractClock")
    assert kiosk.text("touchText") == "点击开始"
    kiosk.item("available_toy_plate")
    assert kiosk.absent("available_no_property")  # unavailable services are not advertised
    kiosk.shot("attract", docs=False)


def test_missing_logo_file_falls_back_to_the_emblem(data_dir, make_ui):
    backend = EngineBackend(ToyApp())
    backend.out_of_service_reason = lambda: None
    driver = make_ui(load_config(overrides={"branding": {"logo": "no/such/logo.png"}}), backend)
    driver.item("brandEmblem")
    assert driver.absent("brandLogo") and driver.absent("attractLogo")


def test_touch_opens_catalog_with_categories_and_unavailable_reason(kiosk):
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    assert kiosk.text("serviceTitle_toy_plate") == "车牌登记"
    kiosk.item("service_no_property")
    kiosk.shot("catalog", docs=False)
    kiosk.tap("tab_public")
    assert kiosk.absent("service_toy_plate") and not kiosk.absent("service_queue_ticket")
    kiosk.tap("tab_all")
    # an unavailable service says why instead of starting
    kiosk.tap("service_no_property")
    assert "A4打印机缺纸" in kiosk.text("noticeText")
    assert kiosk.ui.vm.page == "catalog"


def test_search_with_on_screen_keyboard(kiosk):
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("searchBox")
    kiosk.type_keys("QUEUE")
    assert kiosk.ui.vm.catalog.search == "QUEUE"
    assert not kiosk.absent("service_queue_ticket") and kiosk.absent("service_toy_plate")
    kiosk.shot("catalog_search", docs=False)
    kiosk.tap("keyClear")
    assert not kiosk.absent("service_toy_plate")
    # pinyin: initials and full spelling of the Chinese name
    kiosk.type_keys("PDQH")          # 排队取号
    assert not kiosk.absent("service_queue_ticket") and kiosk.absent("service_toy_plate")
    kiosk.tap("keyClear")
    kiosk.type_keys("CHEPAI")        # 车牌登记
    assert not kiosk.absent("service_toy_plate") and kiosk.absent("service_queue_ticket")
    kiosk.tap("keyClear")


def test_elderly_mode_one_tap_bigger_text_fewer_tiles_and_voice(kiosk):
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    normal = kiosk.item("serviceTitle_toy_plate").property("font").pixelSize()
    kiosk.tap("btnElderly")
    assert kiosk.ui.vm.elderly
    big = kiosk.item("serviceTitle_toy_plate").property("font").pixelSize()
    assert big > normal and big >= 40
    assert kiosk.item("btnCallStaff").property("height") >= 60
    assert kiosk.ui.theme.property("perPage") == 4
    kiosk.shot("catalog", docs=False)
    kiosk.tap("btnLang")
    assert kiosk.text("catalogTitle") == "Choose a service"
    kiosk.shot("catalog", docs=False)
    kiosk.tap("btnElderly")
    kiosk.shot("catalog", docs=False)
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")
    kiosk.shot("attract", docs=False)
    assert kiosk.ui.vm.lang == "zh"  # the next resident starts in the default language


def test_call_staff_from_any_screen(kiosk):
    kiosk.tap("btnCallStaff")
    assert "工作人员" in kiosk.text("noticeText")
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("btnCallStaff")
    kiosk.qtbot.waitUntil(lambda: len(kiosk.app.staff_calls) == 2, timeout=3000)


def test_plate_keyboard_province_then_letters_and_engine_validation(kiosk):
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("service_toy_plate")
    kiosk.wait_view("form")
    kiosk.item("key_苏")          # plates start with a province character
    assert kiosk.absent("key_A")
    kiosk.shot("form_plate")
    kiosk.tap("key_苏")
    kiosk.item("key_A")             # then letters and digits
    kiosk.type_keys("A1")
    kiosk.tap("btnSubmit")          # too short: the engine says what is wrong
    kiosk.qtbot.waitUntil(lambda: not kiosk.absent("fieldError_plate"), timeout=5000)
    assert kiosk.text("fieldError_plate")
    kiosk.shot("form_plate_error")
    kiosk.type_keys("2345")
    assert kiosk.text("fieldValue_plate") == "苏A12345"
    kiosk.tap("btnSubmit")
    kiosk.wait_view("choose")
    kiosk.tap("btnBack")
    kiosk.wait_view("form")
    kiosk.tap("btnCancel")
    kiosk.wait_page("attract")


def test_each_step_is_spoken_and_again_on_listen_again(kiosk):
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("service_toy_plate")
    kiosk.wait_view("form")
    said = ["请输入车牌号", "使用屏幕键盘输入，新能源车牌为8位", "完成后请点击下一步。"]
    kiosk.qtbot.waitUntil(lambda: kiosk.voice.texts()[-3:] == said, timeout=5000)
    before = len(kiosk.voice.commands)
    kiosk.tap("btnRepeat")            # 再听一遍
    kiosk.qtbot.waitUntil(lambda: kiosk.voice.texts()[before:] == said, timeout=5000)
    speed = kiosk.voice.commands[-1][kiosk.voice.commands[-1].index("-s") + 1]
    kiosk.tap("btnElderly")           # slower in elderly mode, and spoken again at once
    kiosk.qtbot.waitUntil(lambda: kiosk.voice.commands[-1][kiosk.voice.commands[-1].index("-s") + 1] < speed,
                          timeout=5000)
    kiosk.tap("btnLang")              # the chosen language
    kiosk.qtbot.waitUntil(lambda: "Enter the plate number" in kiosk.voice.texts(), timeout=5000)
    assert kiosk.voice.commands[-1][2] == "en-gb"
    kiosk.tap("btnCancel")
    kiosk.wait_page("attract")


def test_idle_countdown_then_session_wiped(kiosk):
    from flows.engine import FakeClock

    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("service_toy_plate")
    kiosk.wait_view("form")
    session = kiosk.ui.backend.session
    clock = FakeClock(session.clock())
    session.clock = clock
    clock.advance(22)   # 8 s left: warning
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.idleWarning, timeout=5000)
    kiosk.item("idleOverlay")
    assert int(kiosk.text("idleCountdown")) <= 8
    kiosk.shot("idle_warning")
    kiosk.tap("btnContinue")   # "continue" keeps the session
    kiosk.qtbot.waitUntil(lambda: not kiosk.ui.vm.idleWarning, timeout=5000)
    clock.advance(31)
    kiosk.wait_page("attract")
    assert kiosk.ui.backend.session is None and session.ended and session.outcome == "timeout"
    assert session.data == {}


def test_technician_long_press_pin_and_diagnostics(kiosk):
    kiosk.tap("techCorner", hold_ms=3300)
    kiosk.wait_page("techPin")
    kiosk.shot("technician_pin")
    kiosk.type_keys("1234")
    kiosk.tap("keyDone")
    assert "4" in kiosk.text("pinMessage")  # 4 tries left
    kiosk.type_keys(TECH_PIN)
    kiosk.tap("keyDone")
    kiosk.wait_page("diagnostics")
    # every test button has the same width, and every result line says something
    widths = {round(kiosk.rect(f"test_{a}")[2]) for a in ("read_id", "face", "printer_status", "network")}
    assert len(widths) == 1, widths
    assert kiosk.text("result_print_a4")
    kiosk.tap("btnLeaveTech")
    kiosk.wait_page("attract")


def test_short_press_on_corner_does_nothing(kiosk):
    kiosk.tap("techCorner", hold_ms=300)
    assert kiosk.ui.vm.page == "attract"


def test_technician_entry_without_a_pin_is_disabled_and_says_how_to_set_one(data_dir, make_ui):
    driver = make_ui(load_config(), EngineBackend(ToyApp()))
    driver.tap("techCorner", hold_ms=3300)
    driver.wait_page("techPin")
    assert "kiosk technician set-pin" in driver.text("pinMessage")
    driver.type_keys("80516243")
    driver.tap("keyDone")
    assert driver.ui.vm.page == "techPin" and "set-pin" in driver.text("pinMessage")


def test_a_key_tap_is_one_engine_event(kiosk):
    """Typing sends the input alone: the tap's "I am still here" rides on it."""
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("toy_plate")
    kiosk.tap("service_toy_plate")
    kiosk.wait_view("form")
    kiosk.tap("key_苏")
    sent: list[str] = []
    dispatch = kiosk.ui.backend.dispatch
    kiosk.ui.backend.dispatch = lambda event: (sent.append(event["type"]), dispatch(event))[1]
    kiosk.tap("key_A")
    kiosk.tap("keyBackspace")     # a key of the frame too: the input it makes, no stay beside it
    assert [t for t in sent if t != "tick"] == ["input", "input"]
    kiosk.tap("btnCancel")
    kiosk.wait_page("attract")
