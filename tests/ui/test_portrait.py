"""Portrait 1080x1920 over the real core: every screen a resident meets keeps
its text and buttons inside the window, with finger-sized targets in elderly
mode.  Screenshots: docs/screenshots/portrait_<screen>_<mode>_<lang>.png."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt

# The buttons of the header are on every screen.
HEADER = ("btnElderly", "btnLang", "btnVolume", "btnCallStaff")


@pytest.fixture
def kiosk(real_kiosk):
    driver = real_kiosk(orientation="portrait")
    assert (driver.ui.view.width(), driver.ui.view.height()) == (1080, 1920)
    return driver


def set_mode(kiosk, elderly: bool, lang: str) -> None:
    if kiosk.ui.vm.elderly != elderly:
        kiosk.tap("btnElderly")
    if kiosk.ui.vm.lang != lang:
        kiosk.tap("btnLang")


def check(kiosk, *names: str, buttons: tuple[str, ...] = ()) -> None:
    """The header, the named items and the buttons are inside the window; in
    elderly mode the buttons (and the header's) are at least 60 px high."""
    kiosk.on_screen(*names)
    kiosk.on_screen(*HEADER, *buttons, min_height=60 if kiosk.ui.vm.elderly else 0)


@pytest.mark.parametrize("elderly,lang", [(False, "zh"), (True, "en")], ids=["standard-zh", "elderly-en"])
def test_portrait_attract_and_catalog(kiosk, elderly, lang):
    set_mode(kiosk, elderly, lang)
    kiosk.item("available_no_property_proof")
    # the clock gives way when the services available now need its room (the header shows the time)
    clock = () if kiosk.absent("attractClock") else ("attractClock",)
    check(kiosk, "attractHall", *clock, "availableNow", "attractHours", buttons=("touchToStart",))
    kiosk.shot("portrait_attract")
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.tap("tab_all")
    catalog = kiosk.ui.vm.catalog
    tiles = tuple(f"service_{s['id']}" for s in catalog.services[:2])
    if elderly:   # four tiles a page, so more pages
        assert catalog.pages > 1
        tiles += ("btnNextPage",)
    check(kiosk, "catalogTitle", buttons=("btnHome", "tab_frequent", "tab_all", "tab_public", *tiles))
    kiosk.shot("portrait_catalog")
    if not elderly:  # the search keyboard fits the narrow screen too
        kiosk.tap("searchBox")
        check(kiosk, "searchKeyboard", buttons=("key_Q", "key_P", "keyDone", "keyClear"))
        kiosk.type_keys("QUEUE")
        check(kiosk, buttons=("service_queue_ticket",))
        kiosk.shot("portrait_catalog_search")
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")


@pytest.mark.parametrize("elderly,lang", [(False, "zh"), (True, "en")], ids=["standard-zh", "elderly-en"])
def test_portrait_no_property_proof(kiosk, elderly, lang):
    set_mode(kiosk, elderly, lang)
    kiosk.app.devices.simulators["idcard"].remove()
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("no_property_proof")
    kiosk.tap("service_no_property_proof")
    kiosk.wait_view("insert_card")
    check(kiosk, "stepTitle", "idCardPicture", "cardReaderPicture", buttons=("btnCancel",))
    kiosk.shot("portrait_no_property_insert_card")
    kiosk.app.devices.simulators["idcard"].present("resident")
    kiosk.wait_view("consent", timeout=20)
    kiosk.tap("choice_agree")
    kiosk.wait_view("face", timeout=20)
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.feed.property("hasFrame"), timeout=10000)
    check(kiosk, "stepTitle", "cameraView", "faceGuide", "faceHint", buttons=("btnOtherWay", "btnCancel"))
    kiosk.shot("portrait_no_property_face")
    state = kiosk.wait_view("result", timeout=90)
    assert state["result"]["status"] == "ok"
    check(kiosk, "resultHeadline", "resultValue_0", buttons=("action_next", "btnCancel"))
    kiosk.shot("portrait_no_property_result")
    kiosk.tap("action_next")
    kiosk.wait_view("take_paper", timeout=60)
    kiosk.tap("action_ok")
    kiosk.wait_view("evaluation", timeout=60)
    check(kiosk, "stepTitle", buttons=tuple(f"rate_level_{n}" for n in range(1, 6)))
    kiosk.shot("portrait_no_property_evaluation")
    kiosk.tap("rate_level_5")
    kiosk.wait_view("message", timeout=20)
    kiosk.tap("action_finish")
    kiosk.wait_page("attract", timeout=20)


@pytest.mark.parametrize("elderly,lang", [(False, "zh"), (True, "en")], ids=["standard-zh", "elderly-en"])
def test_portrait_queue_ticket(kiosk, elderly, lang):
    set_mode(kiosk, elderly, lang)
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("queue_ticket")
    kiosk.tap("service_queue_ticket")
    state = kiosk.wait_view("choose")
    first = state["choices"][0]["id"]
    check(kiosk, "stepTitle", buttons=(f"choice_{first}",))
    kiosk.tap(f"choice_{first}")
    kiosk.wait_view("take_paper", timeout=30)
    assert kiosk.text("ticketNumber")[0].isalpha()
    check(kiosk, "ticketNumber", buttons=("action_ok",))
    kiosk.shot("portrait_queue_take_ticket")
    kiosk.tap("btnHome")
    kiosk.wait_page("attract", timeout=20)


def test_portrait_elderly_plate_keyboard_fits(kiosk):
    """The widest keyboard (plate provinces, then letters) in elderly mode."""
    set_mode(kiosk, True, "zh")
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("traffic_violations")
    kiosk.tap("service_traffic_violations")
    kiosk.wait_view("form")
    check(kiosk, "formKeyboard", buttons=("key_京", "key_琼", "keyDone", "field_plate", "btnSubmit"))
    kiosk.shot("portrait_traffic_plate")
    kiosk.tap("key_苏")
    check(kiosk, buttons=("key_1", "key_0", "key_P", "key_M", "keyPlatePage"))
    kiosk.tap("btnHome")
    kiosk.wait_page("attract", timeout=20)
